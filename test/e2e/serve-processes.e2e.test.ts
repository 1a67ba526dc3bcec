// `serve --processes N` as a user runs it: real processes on one port, judged by the operating
// system's process table (which processes exist, which are gone), the processes' own request logs
// (each line carries its pid), and the generator's own bars; a sync from another process empties
// every process's cache; SIGTERM to the primary stops them all, exit 0 (requests in flight on SIGTERM:
// serve.e2e.test.ts, each process stops as a single one does).
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayFilesFor } from '../fixtures/generate.js';
import { bodyOf, readSourceBars, rowsOfBody } from '../fixtures/source-bars.js';
import { putObject, runCli, startServe, STOCKS, startWorld, type Served, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const FROM = '2026-10-01';
const TO = '2026-11-13';

const serve = (args: string[], env: NodeJS.ProcessEnv = w.env): Promise<Served> => startServe(['--log-format', 'json', ...args], env, 30_000);

/** The processes the operating system lists as children of `pid`. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

type Agg = { t: number; o: number; h: number; l: number; c: number; v: number };

/** GET on a connection of its own (no keep-alive): the primary hands each new connection to the next process. */
function fresh(url: string): Promise<{ status: number; body: { results?: Agg[] } }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as { results?: Agg[] } }));
    }).on('error', reject);
  });
}

const fields = (r: Agg[] | undefined): Agg[] => (r ?? []).map(({ t, o, h, l, c, v }) => ({ t, o, h, l, c, v }));
const closeOn = (r: { body: { results?: Agg[] } }, day: string): number | undefined => r.body.results?.find((a) => new Date(a.t).toISOString().startsWith(day))?.c;

/** The pids of the JSON log's request lines. */
function answeringPids(stderr: string): Set<number> {
  const pids = new Set<number>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { msg?: string; pid?: number };
    if (l.msg === 'request' && typeof l.pid === 'number') pids.add(l.pid);
  }
  return pids;
}

describe('serve --processes', () => {
  it('two processes answer on one port, both drop their cached answers when a sync in another process commits, and SIGTERM stops all with exit 0', async () => {
    const cacheDir = w.cacheDir('serve-processes');
    const run = await runCli(['TSLA', '--start', FROM, '--end', TO, '--cache-dir', cacheDir, '--quiet'], w.env);
    expect(run.code, run.stderr).toBe(0);
    // Round-robin (node's own setting): each new connection goes to the next process, so a few
    // fresh connections reach both for sure. serve's default lets the processes take connections
    // from the shared socket themselves (faster under load), where which one wins is up to the OS.
    const s = await serve(['--cache-dir', cacheDir, '--processes', '2'], { ...w.env, NODE_CLUSTER_SCHED_POLICY: 'rr' });
    const primary = s.child.pid ?? 0;
    const workers = childrenOf(primary);
    expect(workers).toHaveLength(2);
    const url = `${s.url}/v2/aggs/ticker/TSLA/range/1/day/${FROM}/${TO}?adjusted=false`;
    try {
      const expected = readSourceBars(w.ds, STOCKS, 'TSLA', FROM, TO).map((b) => ({ t: b.time, o: b.open, h: b.high, l: b.low, c: b.close, v: b.volume }));
      // Enough fresh connections that each process answers (and caches) the URL at least once.
      for (let i = 0; i < 8; i++) {
        const r = await fresh(url);
        expect(r.status).toBe(200);
        expect(fields(r.body.results)).toEqual(expected);
      }
      await waitUntil('both processes logged requests', async () => answeringPids(s.stderr()).size === 2);
      expect([...answeringPids(s.stderr())].sort()).toEqual([...workers].sort());

      const day = '2026-11-12';
      const file = dayFilesFor(w.ds, STOCKS, day, day)[0];
      if (!file) throw new Error(`no file on ${day}`);
      const rows = rowsOfBody(readFileSync(join(w.ds.dir, w.ds.bucket, `${file.key}._S3rver_object`)), file.day);
      const changed = rows.map((r) => (r.ticker === 'TSLA' ? { ...r, close: r.close + 5 } : r));
      const close = changed.find((r) => r.ticker === 'TSLA')?.close;
      const restore = putObject(w, file.key, bodyOf(changed));
      try {
        const sync = await runCli(['sync', '--cache-dir', cacheDir, '--quiet'], w.env);
        expect(sync.code, sync.stderr).toBe(0);
      } finally {
        restore();
      }
      // Every process's answer changes: a process that kept its cached answer would answer the old
      // close on every other fresh connection.
      await waitUntil('the republished close from every process', async () => {
        const closes = await Promise.all(Array.from({ length: 6 }, async () => closeOn(await fresh(url), day)));
        return closes.every((c) => c === close);
      });

    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('a port already taken: one line saying so, the exit code of a bad configuration, no process left', async () => {
    const cacheDir = w.cacheDir('serve-processes');
    const first = await serve(['--cache-dir', cacheDir, '--processes', '1']);
    try {
      const port = new URL(first.url).port;
      const r = await runCli(['serve', '--cache-dir', cacheDir, '--port', port, '--processes', '2'], w.env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(port);
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
  });

  it('a bad --processes, or several with --metrics-port: one line naming it, exit 2', async () => {
    const r = await runCli(['serve', '--cache-dir', w.cacheDir('serve-processes'), '--processes', '0'], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--processes');
    // --metrics-port is one process's: with several each would listen on it.
    const both = await runCli(['serve', '--cache-dir', w.cacheDir('serve-processes'), '--processes', '2', '--metrics-port', '0'], w.env);
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
    expect(both.stderr).toContain('--metrics-port');
  });
});

async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
