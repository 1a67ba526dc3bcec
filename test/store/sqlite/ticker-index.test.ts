// The index by ticker (schema 6): reads along it give exactly the rows the day-by-day path gave
// and the generator's files hold; a schema-5 cache migrates in place; a large `--all` drops it, a
// small one keeps it up; a run killed midway leaves a store that reads right; buildReadIndex (what
// a server calls before it listens) builds it back.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, readBars } from '../../../src/index.js';
import { BarStore } from '../../../src/store/sqlite/bars.js';
import { CACHE_FILE, openDatabase, SCHEMA_VERSION } from '../../../src/store/sqlite/db.js';
import { openSqliteStore } from '../../../src/store/sqlite/store.js';
import { BUILD_AT_OPEN_ROWS, TICKER_INDEX } from '../../../src/store/sqlite/ticker-index.js';
import { sessionDay } from '../../../src/market-time.js';
import { allScope } from '../../../src/store/scope.js';
import type { JobSpec } from '../../../src/store/types.js';
import type { Bar } from '../../../src/types.js';
import { twoTickerDay } from '../../fixtures/columns.js';
import { dayFilesFor, STOCKS_MINUTE_DATASET } from '../../fixtures/generate.js';
import { SCHEMA_5 } from '../../fixtures/old-schemas.js';
import { S3_CREDENTIALS } from '../../fixtures/s3-server.js';
import { readSourceBars } from '../../fixtures/source-bars.js';
import { doneCount, END, runCli, spawnCli, STOCKS, startWorld, waitFor, type World } from '../../e2e/helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const START = '2026-06-01';
const now = new Date('2026-11-23T18:00:00Z');
const opts = (cacheDir: string) => ({ cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now, adjust: 'none' as const });

/** Whether the cache file holds the index, asked of SQLite directly. */
function hasIndex(cacheDir: string): boolean {
  const db = new Database(join(cacheDir, CACHE_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?").get(TICKER_INDEX) !== undefined;
  } finally {
    db.close();
  }
}

/**
 * A ticker's bars as schema 5 read them, on a copy of the cache without the index: one seek a
 * stored day (bar_days), the rows of overlapping files resolved as before.
 */
function readWithoutIndex(cacheDir: string, ticker: string, start: string, end: string): Bar[] {
  const copy = mkdtempSync(join(tmpdir(), 'pmd-noindex-'));
  try {
    const src = new Database(join(cacheDir, CACHE_FILE), { readonly: true, fileMustExist: true });
    src.prepare('VACUUM INTO ?').run(join(copy, CACHE_FILE));
    src.close();
    const db = new Database(join(copy, CACHE_FILE));
    db.exec(`DROP INDEX IF EXISTS ${TICKER_INDEX}`);
    const bars = new BarStore(db).read(ticker, '1d', start, end);
    db.close();
    return bars;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** A few tickers of the generated market: the named ones and some fillers from across the alphabet. */
function someTickers(): string[] {
  const all = w.ds.tickers[STOCKS] ?? [];
  return ['TSLA', 'AAPL', 'BRK.B', ...all.filter((_, i) => i % Math.max(1, Math.floor(all.length / 8)) === 0)];
}

describe('reads along the index by ticker', () => {
  it('give the same rows, in the same order, as the day-by-day path and as the files', async () => {
    const cacheDir = w.cacheDir('ticker-reads');
    await preload([], { ...opts(cacheDir), all: true, start: START });
    // A large --all leaves it to be built once, as a server does before it listens.
    expect(hasIndex(cacheDir)).toBe(false);
    const store = openSqliteStore(cacheDir);
    expect(await store.buildReadIndex()).toBe(true);
    await store.close();
    expect(hasIndex(cacheDir)).toBe(true);
    for (const ticker of someTickers()) {
      const read = await readBars(ticker, { cacheDir, adjust: 'none', start: START, end: END });
      expect(read.length).toBeGreaterThan(0);
      expect(read).toEqual(readWithoutIndex(cacheDir, ticker, START, END));
      expect(read).toEqual(readSourceBars(w.ds, STOCKS, ticker, START, END));
    }
    // The store's plan is the index's own order: no sort, no visit of the table.
    const db = new Database(join(cacheDir, CACHE_FILE), { readonly: true });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT time, open, high, low, close, volume, transactions FROM bars INDEXED BY ${TICKER_INDEX}
        WHERE interval = '1d' AND symbol = 'TSLA' AND day >= '0000' AND day <= '9999' ORDER BY time`)
      .all() as Array<{ detail: string }>;
    db.close();
    expect(plan.map((p) => p.detail)).toEqual([`SEARCH bars USING COVERING INDEX ${TICKER_INDEX} (symbol=?)`]);
  }, 120_000);

  it('resolve two day files holding one time as before: the later file wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-overlap-'));
    try {
      const db = openDatabase(dir);
      const bars = new BarStore(db);
      const t = Date.parse('2024-01-03T00:00:00Z');
      const row = (day: string, time: number, close: number) => ({ symbol: 'X:BTC-USD', day, time, open: 1, high: 2, low: 0.5, close, volume: 1, transactions: null });
      db.transaction(() => bars.upsert('1d', [row('2024-01-02', t - 86_400_000, 1), row('2024-01-02', t, 2), row('2024-01-03', t, 3), row('2024-01-04', t + 86_400_000, 4)]))();
      const indexed = bars.read('X:BTC-USD', '1d', '2024-01-01', '2024-01-31');
      db.exec(`DROP INDEX ${TICKER_INDEX}`);
      const seeked = bars.read('X:BTC-USD', '1d', '2024-01-01', '2024-01-31');
      expect(indexed.map((b) => b.close)).toEqual([1, 3, 4]);
      expect(indexed).toEqual(seeked);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a cache of schema 5', () => {
  /** A schema-5 file as 0.3 wrote it, with `days` days of `tickers` tickers' day bars. */
  function schema5Cache(tickers: number, days: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-v5-'));
    const db = new Database(join(dir, CACHE_FILE));
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA_5);
    const insert = db.prepare("INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions) VALUES (?, '1d', ?, ?, 1, 2, 0.5, ?, 10, ?)");
    db.transaction(() => {
      for (let d = 0; d < days; d++) {
        const day = new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
        db.prepare("INSERT INTO bar_days VALUES ('1d', ?)").run(day);
        for (let t = 0; t < tickers; t++) insert.run(`T${String(t).padStart(5, '0')}`, Date.parse(`${day}T05:00:00Z`), day, t + d / 1000, t % 7 === 0 ? null : d);
      }
      for (let t = 0; t < tickers; t++) db.prepare("INSERT INTO bar_symbols VALUES ('1d', ?)").run(`T${String(t).padStart(5, '0')}`);
    })();
    db.pragma('user_version = 5');
    db.close();
    return dir;
  }

  it('small: migrates at open, the index built at once, its bars read the same', () => {
    const dir = schema5Cache(50, 20);
    try {
      const before = new Database(join(dir, CACHE_FILE));
      const expected = new BarStore(before).read('T00007', '1d', '2024-01-01', '2024-12-31');
      before.close();
      const db = openDatabase(dir);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(hasIndex(dir)).toBe(true);
      expect(new BarStore(db).read('T00007', '1d', '2024-01-01', '2024-12-31')).toEqual(expected);
      expect(expected).toHaveLength(20);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('large: migrates at open without building (a reader must not wait on it), reads the same, and buildReadIndex builds it', async () => {
    const tickers = 2_000;
    const days = Math.ceil(BUILD_AT_OPEN_ROWS / tickers) + 1;
    const dir = schema5Cache(tickers, days);
    try {
      const before = new Database(join(dir, CACHE_FILE));
      const expected = new BarStore(before).read('T01234', '1d', '2024-01-01', '2024-12-31');
      before.close();
      expect(expected).toHaveLength(days);
      const store = openSqliteStore(dir);
      expect(hasIndex(dir)).toBe(false);
      expect(await store.readBars('T01234', '1d', '2024-01-01', '2024-12-31')).toEqual(expected);
      expect(await store.buildReadIndex()).toBe(true);
      expect(hasIndex(dir)).toBe(true);
      expect(await store.buildReadIndex()).toBe(false);
      expect(await store.readBars('T01234', '1d', '2024-01-01', '2024-12-31')).toEqual(expected);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a cache of a newer schema, as the older release refuses this one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-newer-'));
    try {
      openDatabase(dir).close();
      const db = new Database(join(dir, CACHE_FILE));
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => openDatabase(dir)).toThrow(`schema ${SCHEMA_VERSION + 1}, expected ${SCHEMA_VERSION}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a large --all', () => {
  it('killed midway leaves a store that reads right; the rerun ends without the index, and buildReadIndex builds it back', async () => {
    const cacheDir = w.cacheDir('ticker-index-kill');
    mkdirSync(cacheDir, { recursive: true });
    const start = '2025-06-01';
    const files = dayFilesFor(w.ds, STOCKS, start, END);
    expect(files.length).toBeGreaterThan(100);
    await w.server.setLatency(20);
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: cacheDir };
    const args = ['--all', '--start', start, '--end', END, '--workers', '4', '--json'];
    const child = spawnCli(args, env);
    const exited = new Promise((resolve) => child.on('close', resolve));
    await waitFor(() => doneCount(cacheDir) >= 40, 60_000);
    child.kill('SIGKILL');
    await exited;
    await w.server.setLatency(0);
    expect(hasIndex(cacheDir)).toBe(false);
    // Reads go on, day by day: every stored day of a ticker as the files have it.
    const stored = new Database(join(cacheDir, CACHE_FILE), { readonly: true });
    // Files complete in any order (4 in flight): the days committed, each whole in its transaction.
    const committed = new Set(stored.prepare("SELECT day FROM bar_days WHERE interval = '1d'").pluck().all() as string[]);
    stored.close();
    expect(committed.size).toBeGreaterThanOrEqual(40);
    for (const ticker of ['TSLA', 'AAPL']) {
      const expected = readSourceBars(w.ds, STOCKS, ticker, start, END).filter((b) => committed.has(sessionDay(b.time)));
      expect(expected.length).toBe(committed.size);
      expect(await readBars(ticker, { cacheDir, adjust: 'none', start, end: END })).toEqual(expected);
    }
    const rerun = await runCli(args, env);
    expect(rerun.code).toBe(0);
    expect(hasIndex(cacheDir)).toBe(false);
    for (const ticker of ['TSLA', 'MSFT']) {
      expect(await readBars(ticker, { cacheDir, adjust: 'none', start, end: END })).toEqual(readSourceBars(w.ds, STOCKS, ticker, start, END));
    }
    const store = openSqliteStore(cacheDir);
    expect(await store.buildReadIndex()).toBe(true);
    await store.close();
    expect(hasIndex(cacheDir)).toBe(true);
    for (const ticker of someTickers()) {
      expect(await readBars(ticker, { cacheDir, adjust: 'none', start, end: END })).toEqual(readSourceBars(w.ds, STOCKS, ticker, start, END));
    }
  }, 180_000);

  it.each([
    [3, '1d', true],
    [20, '1d', false],
    [20, '1m', true],
  ] as const)('offered %i whole-market files of %s, keeps the index up: %s', async (offered, interval, kept) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-offered-'));
    try {
      const store = openSqliteStore(dir);
      const dataset = interval === '1d' ? STOCKS : STOCKS_MINUTE_DATASET;
      const job: JobSpec = { job: `all/${interval}`, dataset, interval, tickers: [allScope(dataset)], all: true };
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue();
      const day = (i: number) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
      const file = (i: number) => ({ key: `k/${day(i)}.csv.gz`, day: day(i), size: 1, etag: 'e', lastModified: undefined });
      await queue.offer(job, Array.from({ length: offered }, (_, i) => file(i)));
      await queue.claim(2);
      await queue.complete([0, 1].map((i) => ({ job, file: file(i), rows: [], columns: twoTickerDay(day(i), i) })));
      expect(hasIndex(dir)).toBe(kept);
      const read = await store.readBars('TSLA', interval, day(0), day(1));
      expect(read.map((b) => [b.close, b.transactions])).toEqual([[0, 7], [1, 7]]);
      await queue.close();
      expect(hasIndex(dir)).toBe(kept);
      expect(await store.buildReadIndex()).toBe(!kept);
      expect(hasIndex(dir)).toBe(true);
      expect(await store.readBars('TSLA', interval, day(0), day(1))).toEqual(read);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
