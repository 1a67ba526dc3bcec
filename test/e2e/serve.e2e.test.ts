// `preload-market-data serve` as a user runs it: the real CLI on a real store filled by a real
// run, judged by the generator's own bars and the S3 server's request log. The cache invalidated
// by a sync from another process (SQLite and PostgreSQL, two serve processes on one store), the
// token, --fill with one GET per file for many concurrent requests, SIGTERM with requests in
// flight, and a public address refused without a token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { bodyOf, readSourceBars, readSourceRows, rowsOfBody } from '../fixtures/source-bars.js';
import { putObject, runCli, startServe, STOCKS, startWorld, type Served, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const FROM = '2026-10-01';
const WEEK_AGO = '2026-11-13';
const TOKEN = 'e2e-known-token-71f3a';

/** Starts one serve process: the checks below read its /metrics; several: serve-processes.e2e.test.ts. */
const serve = (args: string[], env: NodeJS.ProcessEnv = w.env): Promise<Served> => startServe(['--processes', '1', ...args], env, 20_000);

async function stop(s: Served): Promise<number | null> {
  s.child.kill('SIGTERM');
  return s.exited;
}

type Agg = { t: number; o: number; h: number; l: number; c: number; v: number };

async function aggs(url: string, symbol: string, from: string, to: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { results?: Agg[]; request_id?: string; status?: string; error?: string } }> {
  const res = await fetch(`${url}/v2/aggs/ticker/${symbol}/range/1/day/${from}/${to}?adjusted=false`, { headers });
  return { status: res.status, body: (await res.json()) as { results?: Agg[] } };
}

/** The generator's bars in the API's fields. */
function sourceAggs(symbol: string, from: string, to: string): Agg[] {
  return readSourceBars(w.ds, STOCKS, symbol, from, to).map((b) => ({ t: b.time, o: b.open, h: b.high, l: b.low, c: b.close, v: b.volume }));
}

const fields = (r: Agg[] | undefined): Agg[] => (r ?? []).map(({ t, o, h, l, c, v }) => ({ t, o, h, l, c, v }));

/** Republishes `day` with `symbol`'s close moved by `delta`, runs `sync` on `where` in another process, and puts the file back; returns the new close. */
async function republishAndSync(day: string, symbol: string, delta: number, where: string[]): Promise<number> {
  const { restore, close } = republish(day, symbol, delta);
  try {
    const sync = await runCli(['sync', ...where, '--quiet'], w.env);
    expect(sync.code, sync.stderr).toBe(0);
  } finally {
    restore();
  }
  return close;
}

function republish(day: string, symbol: string, delta: number): { restore: () => void; close: number } {
  const file = dayFilesFor(w.ds, STOCKS, day, day)[0];
  if (!file) throw new Error(`no file on ${day}`);
  const rows = rowsOfBody(readFileSync(join(w.ds.dir, w.ds.bucket, `${file.key}._S3rver_object`)), file.day);
  const changed = rows.map((r) => (r.ticker === symbol ? { ...r, close: r.close + delta } : r));
  const close = changed.find((r) => r.ticker === symbol)?.close;
  if (close === undefined) throw new Error(`${symbol} not in ${day}`);
  return { restore: putObject(w, file.key, bodyOf(changed)), close };
}

async function eventually(what: string, cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const closeOn = (r: { body: { results?: Agg[] } }, day: string): number | undefined => r.body.results?.find((a) => new Date(a.t).toISOString().startsWith(day))?.c;

describe('serve on the SQLite cache', () => {
  it('answers the stored bars, from memory the second time, and the new bars once a sync in another process commits', async () => {
    const cacheDir = w.cacheDir('serve-sqlite');
    const run = await runCli(['TSLA', '--start', FROM, '--end', WEEK_AGO, '--cache-dir', cacheDir, '--quiet'], w.env);
    expect(run.code, run.stderr).toBe(0);
    const s = await serve(['--cache-dir', cacheDir]);
    try {
      const first = await aggs(s.url, 'TSLA', FROM, WEEK_AGO);
      expect(first.status).toBe(200);
      expect(fields(first.body.results)).toEqual(sourceAggs('TSLA', FROM, WEEK_AGO));
      const second = await aggs(s.url, 'TSLA', FROM, WEEK_AGO);
      expect(second.body.request_id).not.toBe(first.body.request_id);
      expect(fields(second.body.results)).toEqual(fields(first.body.results));
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^preload_market_data_serve_cache_hits_total 1$/m);

      const close = await republishAndSync('2026-11-12', 'TSLA', 7, ['--cache-dir', cacheDir]);
      expect(closeOn(first, '2026-11-12')).toBe(close - 7);
      await eventually('the republished close', async () => closeOn(await aggs(s.url, 'TSLA', FROM, WEEK_AGO), '2026-11-12') === close);
    } finally {
      expect(await stop(s)).toBe(0);
    }
  });

  it('checks the token as the clients send it, never prints it, and stops on SIGTERM with exit 0', async () => {
    const cacheDir = w.cacheDir('serve-sqlite');
    for (const how of ['env', 'flag'] as const) {
      const env = how === 'env' ? { ...w.env, PRELOAD_SERVE_TOKEN: TOKEN } : w.env;
      const s = await serve(['--cache-dir', cacheDir, '--host', '0.0.0.0', '--log-format', 'json', ...(how === 'flag' ? ['--token', TOKEN] : [])], env);
      const port = new URL(s.url).port;
      const url = `http://127.0.0.1:${port}`;
      const missing = await aggs(url, 'TSLA', FROM, WEEK_AGO);
      expect(missing.status).toBe(401);
      expect(missing.body).toMatchObject({ status: 'ERROR' });
      expect(typeof missing.body.error).toBe('string');
      expect((await aggs(url, 'TSLA', FROM, WEEK_AGO, { authorization: 'Bearer wrong-token-000' })).status).toBe(401);
      expect((await fetch(`${url}/v2/aggs/ticker/TSLA/range/1/day/${FROM}/${WEEK_AGO}?apiKey=${TOKEN}0`)).status).toBe(401);
      expect((await aggs(url, 'TSLA', FROM, WEEK_AGO, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      const viaQuery = await fetch(`${url}/v2/aggs/ticker/TSLA/range/1/day/${FROM}/${WEEK_AGO}?adjusted=false&apiKey=${TOKEN}`);
      expect(viaQuery.status).toBe(200);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await stop(s)).toBe(0);
      const out = s.stdout() + s.stderr();
      expect(out).not.toContain(TOKEN);
      // Every line of the JSON log is JSON, one a request, the key masked.
      const lines = s.stderr().trim().split('\n');
      for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      expect(lines.some((l) => l.includes('apiKey=***'))).toBe(true);
    }
  });

  it('refuses to bind an address other than loopback without a token: one line, exit 2', async () => {
    const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--cache-dir', w.cacheDir('serve-open')], w.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--token');
  });

  it('--fill: many concurrent requests for a missing window share one download (one GET per file), and SIGTERM lets them finish', async () => {
    const cacheDir = w.cacheDir('serve-fill');
    const from = '2026-11-02';
    const files = dayFilesFor(w.ds, STOCKS, from, WEEK_AGO);
    // Without --fill: a 404 naming what is missing, and nothing downloaded.
    const plain = await serve(['--cache-dir', cacheDir]);
    await w.server.resetStats();
    const missing = await aggs(plain.url, 'AAPL', from, WEEK_AGO);
    expect(missing.status).toBe(404);
    expect(missing.body.status).toBe('NOT_FOUND');
    expect(missing.body.error).toContain('AAPL');
    expect(await stop(plain)).toBe(0);
    expect((await w.server.stats()).totalGets).toBe(0);

    await w.server.setLatency(150);
    const s = await serve(['--cache-dir', cacheDir, '--fill']);
    try {
      await w.server.resetStats();
      const requests = Array.from({ length: 12 }, () => aggs(s.url, 'AAPL', from, WEEK_AGO));
      // The download is under way (the server is slow): stop the server with the requests in flight.
      const until = Date.now() + 10_000;
      while ((await w.server.stats()).totalGets === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      s.child.kill('SIGTERM');
      const answers = await Promise.all(requests);
      const expected = sourceAggs('AAPL', from, WEEK_AGO);
      for (const a of answers) {
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        expect(fields(a.body.results)).toEqual(expected);
      }
      expect(await s.exited).toBe(0);
      const { gets } = await w.server.stats();
      for (const f of files) expect(gets[f.key], f.key).toBe(1);
      expect(Object.keys(gets).filter((k) => k.startsWith(STOCKS)).length).toBe(files.length);
    } finally {
      await w.server.setLatency(0);
      s.child.kill('SIGKILL');
    }
  });

  it("--fill of a grouped day: concurrent requests answered with the day file's rows, one GET of it, counted as a market fill", async () => {
    const day = '2026-11-12';
    const file = dayFilesFor(w.ds, STOCKS, day, day)[0];
    const s = await serve(['--cache-dir', w.cacheDir('serve-fill-grouped'), '--fill']);
    try {
      await w.server.resetStats();
      const answers = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const res = await fetch(`${s.url}/v2/aggs/grouped/locale/us/market/stocks/${day}?adjusted=false`);
          return { status: res.status, body: (await res.json()) as { results?: Array<{ T: string; c: number }> } };
        }),
      );
      const expected = [...readSourceRows(w.ds, STOCKS, day, day).values()].map((r) => `${r.ticker} ${r.close}`).sort();
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect((a.body.results ?? []).map((r) => `${r.T} ${r.c}`).sort()).toEqual(expected);
      }
      expect((await w.server.stats()).gets).toEqual({ [file?.key ?? '']: 1 });
      expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/^preload_market_data_serve_fills_total\{kind="market",result="done"\} 1$/m);
    } finally {
      expect(await stop(s)).toBe(0);
    }
  });
});

describe('serve on PostgreSQL', () => {
  let pg: TestPostgres | undefined;
  afterAll(async () => {
    await pg?.close();
  });

  it('two serve processes on one store answer the same, and both drop their cached answers when a sync commits', async () => {
    pg = await startPostgres();
    const store = await pg.freshDatabase();
    const run = await runCli(['MSFT', '--start', FROM, '--end', WEEK_AGO, '--store', store, '--quiet'], w.env);
    expect(run.code, run.stderr).toBe(0);
    const [a, b] = await Promise.all([serve(['--store', store]), serve(['--store', store])]);
    try {
      const expected = sourceAggs('MSFT', FROM, WEEK_AGO);
      for (const s of [a, b]) {
        for (let i = 0; i < 2; i++) {
          const r = await aggs(s.url, 'MSFT', FROM, WEEK_AGO);
          expect(r.status).toBe(200);
          expect(fields(r.body.results)).toEqual(expected);
        }
        expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/^preload_market_data_serve_cache_hits_total 1$/m);
      }
      const close = await republishAndSync('2026-11-12', 'MSFT', 3, ['--store', store]);
      for (const s of [a, b]) {
        await eventually('the republished close', async () => closeOn(await aggs(s.url, 'MSFT', FROM, WEEK_AGO), '2026-11-12') === close);
      }
    } finally {
      expect(await stop(a)).toBe(0);
      expect(await stop(b)).toBe(0);
    }
  });
});
