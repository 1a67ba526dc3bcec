// The SQLite cache's sync lock, with real CLI processes: a pid file left by an earlier release
// (naming a live, unrelated process) does not block; a sync killed with SIGKILL mid-run leaves
// nothing that blocks the next one; two syncs at once: one exits 75, the other completes. Judged
// by the server's log and by the store against the generator's bars. On a shared PostgreSQL store
// there is no lock: two syncs at once share the files.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../src/market-time.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { readSourceBars, type SourceBar } from '../fixtures/source-bars.js';
import { cachedBars, doneCount, doneKeys, END, ingestedDays, json, runCli, spawnCli, STOCKS, startWorld, waitFor, type CliResult, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

// A small preload registers the jobs; the sync then has the ~two years after it to fetch.
const PRELOAD = ['--start', '2024-11-01', '--end', '2024-11-15'];
const SYMBOLS = ['TSLA', 'AAPL'];

/** A cache holding the jobs of SYMBOLS over PRELOAD, and the env that points the CLI at it. */
async function preloaded(name: string): Promise<{ cacheDir: string; env: NodeJS.ProcessEnv }> {
  const cacheDir = w.cacheDir(name);
  const env = { ...w.env, MARKET_DATA_CACHE_DIR: cacheDir };
  const r = await runCli([...SYMBOLS, ...PRELOAD, '--quiet'], env);
  expect(r.code, r.stderr).toBe(0);
  return { cacheDir, env };
}

/** The keys a sync of `cacheDir` must fetch: from a week before the last stored day to the end of the data. */
function syncKeys(cacheDir: string): string[] {
  const last = ingestedDays(cacheDir, 'TSLA').at(-1)?.day;
  if (last === undefined) throw new Error('nothing stored');
  return dayFilesFor(w.ds, STOCKS, addDays(last, -7), END)
    .map((f) => f.key)
    .filter((k) => !doneKeys(cacheDir).includes(k))
    .sort();
}

/** Every symbol's stored bars equal the generator's, from the preload's start to the end of the data. */
function expectExact(cacheDir: string): void {
  for (const symbol of SYMBOLS) expect(cachedBars(cacheDir, symbol)).toEqual(readSourceBars(w.ds, STOCKS, symbol, PRELOAD[1] ?? '', END));
}

describe('the sync lock', () => {
  it('ignores a pid file of an earlier release naming a live unrelated process: the sync proceeds and syncs', async () => {
    const { cacheDir, env } = await preloaded('stale-pid');
    // The reproduction: `sleep 1000 & echo $! > <cache>/sync.lock`.
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
    try {
      expect(sleeper.pid).toBeGreaterThan(0);
      writeFileSync(join(cacheDir, 'sync.lock'), String(sleeper.pid));
      const expected = syncKeys(cacheDir);
      expect(expected.length).toBeGreaterThan(300);
      await w.server.resetStats();
      const r = await runCli(['sync', '--quiet'], env);
      expect(r.code, r.stderr).toBe(0);
      const stats = await w.server.stats();
      expect(Object.keys(stats.gets).sort()).toEqual(expected);
      expect(stats.totalGets).toBe(expected.length);
      expectExact(cacheDir);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 120_000);

  it('after a sync is killed with SIGKILL mid-run, another starts at once and completes, the store exact', async () => {
    const { cacheDir, env } = await preloaded('killed');
    const before = doneCount(cacheDir);
    const expected = syncKeys(cacheDir);
    await w.server.setLatency(30);
    try {
      const child = spawnCli(['sync', '--quiet', '--workers', '2'], env);
      const exited = new Promise((resolve) => child.on('close', resolve));
      await waitFor(() => doneCount(cacheDir) >= before + 40, 60_000);
      child.kill('SIGKILL');
      await exited;
    } finally {
      await w.server.setLatency(0);
    }
    const done = doneCount(cacheDir);
    expect(done).toBeLessThan(before + expected.length);
    const doneBefore = new Set(doneKeys(cacheDir));
    await w.server.resetStats();
    // No wait, no clean-up: the kernel dropped the killed process's lock with it.
    const r = await runCli(['sync', '--quiet'], env);
    expect(r.code, r.stderr).toBe(0);
    const fetched = Object.keys((await w.server.stats()).gets);
    expect(fetched.length).toBeGreaterThan(0);
    for (const key of fetched) {
      expect(expected).toContain(key);
      expect(doneBefore.has(key)).toBe(false);
    }
    expectExact(cacheDir);
  }, 120_000);

  it('two syncs at once: exactly one exits 75 with one line saying another sync holds the lock, the other completes, each file fetched once', async () => {
    const { cacheDir, env } = await preloaded('twice');
    const expected = syncKeys(cacheDir);
    await w.server.resetStats();
    // Slow enough (~5 s of GETs) that the first still runs when the second starts, whichever
    // starts first, even on a loaded machine.
    await w.server.setLatency(20);
    let results: CliResult[];
    try {
      const args = ['sync', '--json', '--workers', '2'];
      results = await Promise.all([runCli(args, env), runCli(args, env)]);
    } finally {
      await w.server.setLatency(0);
    }
    const codes = results.map((r) => r.code).sort();
    expect(codes, results.map((r) => r.stderr).join('\n')).toEqual([0, 75]);
    const busy = results.find((r) => r.code === 75);
    expect(busy?.stdout).toBe('');
    expect(busy?.stderr.trim().split('\n')).toHaveLength(1);
    expect(busy?.stderr).toContain('Another sync holds the lock');
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(expected);
    expect(stats.totalGets).toBe(expected.length);
    expectExact(cacheDir);
  }, 120_000);
});

/** A symbol's day bars in a PostgreSQL store, read with plain SQL (not through the library). */
async function storedBars(url: string, symbol: string): Promise<SourceBar[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const { rows } = await c.query<SourceBar>(
      `SELECT time::float8 AS time, open, high, low, close, volume, transactions::float8 AS transactions FROM bars
       WHERE symbol = $1 AND interval = '1d' ORDER BY time`,
      [symbol],
    );
    return rows;
  } finally {
    await c.end();
  }
}

describe('syncs on a shared PostgreSQL store', () => {
  let db: TestPostgres | undefined;
  afterAll(async () => {
    await db?.close();
  });

  it('take no lock: two at once both exit 0, sharing the files, each fetched once, the store exact', async () => {
    db = await startPostgres();
    const store = await db.freshDatabase();
    const pre = await runCli([...SYMBOLS, ...PRELOAD, '--store', store, '--quiet'], w.env);
    expect(pre.code, pre.stderr).toBe(0);
    const last = PRELOAD[3] ?? '';
    const expected = dayFilesFor(w.ds, STOCKS, addDays(last, -7), END)
      .filter((f) => f.day > last)
      .map((f) => f.key)
      .sort();
    await w.server.resetStats();
    await w.server.setLatency(10);
    let results: CliResult[];
    try {
      results = await Promise.all([0, 1].map(() => runCli(['sync', '--store', store, '--workers', '4', '--json'], w.env)));
    } finally {
      await w.server.setLatency(0);
    }
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(expected);
    for (const count of Object.values(stats.gets)) expect(count).toBe(1);
    // Between them each file once (which of the two took how many depends on when each started).
    const downloaded = results.map((r) => (json(r) as unknown as { parts: Array<{ files: { downloaded: number } }> }).parts[0]?.files.downloaded ?? 0);
    expect(downloaded.reduce((a, b) => a + b, 0)).toBe(expected.length);
    for (const symbol of SYMBOLS) expect(await storedBars(store, symbol)).toEqual(readSourceBars(w.ds, STOCKS, symbol, PRELOAD[1] ?? '', END));
  }, 180_000);
});
