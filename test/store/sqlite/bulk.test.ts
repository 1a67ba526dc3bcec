// The SQLite store's side of `--all`: whole days from columns (LocalQueue.complete) and large files
// staged chunk by chunk (LocalQueue.openFile), judged by a connection of the test's own that reads
// the tables with plain SQL, against the rows the test built.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHE_FILE } from '../../../src/store/sqlite/db.js';
import { openSqliteStore } from '../../../src/store/sqlite/store.js';
import type { Store, WorkQueue } from '../../../src/store/types.js';
import type { ParsedRow } from '../../../src/types.js';
import { CRYPTO, MINUTES, STOCKS, allJob, dayRows, file, names, toColumns } from '../../fixtures/columns.js';
import { JOB, completed, dayFile, row } from '../../fixtures/store-jobs.js';

let dir: string;
let store: Store;
let queue: WorkQueue;
let reader: Database.Database;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-bulk-'));
  store = openSqliteStore(dir);
  queue = await store.openQueue([]);
  reader = new Database(join(dir, CACHE_FILE), { readonly: true });
});

afterEach(async () => {
  reader.close();
  await queue.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Stored {
  symbol: string;
  interval: string;
  time: number;
  day: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  transactions: number | null;
}

/** The table as any SQLite client sees it, in a fixed order. */
function stored(where = 'true', ...params: unknown[]): Stored[] {
  return reader.prepare(`SELECT * FROM bars WHERE ${where} ORDER BY symbol, interval, time`).all(...params) as Stored[];
}

/** What `rows` of `day` must be stored as: one row per (ticker, time), the last one given. */
function expected(rows: readonly ParsedRow[], interval: string, day: string): Stored[] {
  const last = new Map(rows.map((r) => [`${r.ticker} ${r.time}`, r]));
  return [...last.values()]
    .map(({ ticker, ...r }) => ({ symbol: ticker, interval, day, ...r }))
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.time - b.time));
}

const ingested = (symbol: string) => reader.prepare('SELECT symbol, interval, day, dataset, etag, rows FROM ingested_days WHERE symbol = ? ORDER BY day').all(symbol);

describe('bar_symbols across days whose tickers come and go', () => {
  it('lists exactly the tickers that have bars, read back from bars itself', async () => {
    const job = allJob(STOCKS);
    await store.prepareJob(job, { clear: false });
    const listed = (): string[] => (reader.prepare("SELECT symbol FROM bar_symbols WHERE interval = '1d' ORDER BY symbol").pluck().all() as string[]);
    const inBars = (): string[] => (reader.prepare("SELECT DISTINCT symbol FROM bars WHERE interval = '1d' ORDER BY symbol").pluck().all() as string[]);
    const all = names(60);
    const days: Array<[string, string[], string?]> = [
      ['2024-01-02', all.slice(0, 40)],
      ['2024-01-03', all.slice(5, 50)],
      ['2024-01-04', [...all.slice(0, 3), ...all.slice(20, 60)]],
      // Republished: drops T0000-T0019, which the 3rd and 4th still have, and T0045-T0049, which the 3rd has.
      ['2024-01-02', all.slice(20, 40), 'etag-2'],
      // Republished: drops T0040-T0049 and T0005-T0019, now in no file at all, and T0000-T0004.
      ['2024-01-03', all.slice(20, 40), 'etag-2'],
      // They come back, with a ticker never seen.
      ['2024-01-05', [...all.slice(0, 12), ...all.slice(45, 60), 'ZZZ']],
    ];
    for (const [day, tickers, etag] of days) {
      await queue.complete([{ job, file: file(STOCKS, day, etag), rows: [], columns: toColumns(dayRows(tickers, day, 1)) }]);
      expect(listed(), day).toEqual(inBars());
    }
    expect(listed()).toEqual([...all.slice(0, 3), ...all.slice(0, 12).slice(3), ...all.slice(20, 60), 'ZZZ'].sort());
  });
});

describe('complete: a whole day from columns', () => {
  it('stores every row of the file, the last of a duplicated (ticker, time), with one ingested day under the scope', async () => {
    const job = allJob(STOCKS);
    await store.prepareJob(job, { clear: false });
    const d1 = dayRows(names(300), '2024-01-02', 1);
    // A (ticker, time) twice: the second wins.
    const d2 = [...dayRows(names(250), '2024-01-03', 2), { ...(dayRows(['T0005'], '2024-01-03', 9)[0] as ParsedRow) }];
    await queue.complete([
      { job, file: file(STOCKS, '2024-01-02'), rows: [], columns: toColumns(d1) },
      { job, file: file(STOCKS, '2024-01-03'), rows: [], columns: toColumns(d2) },
    ]);
    expect(stored()).toEqual([...expected(d1, '1d', '2024-01-02'), ...expected(d2, '1d', '2024-01-03')].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.time - b.time)));
    expect(stored("symbol = 'T0005' AND day = '2024-01-03'")[0]?.volume).toBe(1009.5);
    expect(stored("transactions IS NULL AND day = '2024-01-02'")).toHaveLength(43);
    expect(ingested('*us_stocks_sip/day_aggs_v1')).toEqual([
      { symbol: '*us_stocks_sip/day_aggs_v1', interval: '1d', day: '2024-01-02', dataset: STOCKS, etag: 'etag-2024-01-02', rows: 300 },
      { symbol: '*us_stocks_sip/day_aggs_v1', interval: '1d', day: '2024-01-03', dataset: STOCKS, etag: 'etag-2024-01-03', rows: 251 },
    ]);
    expect(reader.prepare('SELECT COUNT(*) AS n FROM ingested_days').get()).toEqual({ n: 2 });
    expect([...(await store.doneKeys(job.job)).keys()]).toEqual([file(STOCKS, '2024-01-02').key, file(STOCKS, '2024-01-03').key]);
    // The Store's own reads agree with the table.
    expect(await store.readBars('T0007', '1d', '0000-01-01', '2024-12-31')).toEqual(
      stored("symbol = 'T0007'").map(({ time, open, high, low, close, volume, transactions }) => ({ time, open, high, low, close, volume, transactions })),
    );
    expect(await store.listSymbols('1d')).toEqual(names(300));
  });

  it("replaces a republished day for every ticker of the dataset, dropped ones included, and leaves other datasets' bars", async () => {
    const stocks = allJob(STOCKS);
    const crypto = allJob(CRYPTO);
    const day = '2024-01-02';
    const coins = dayRows(names(40, 'X:'), day, 3);
    await queue.complete([
      { job: stocks, file: file(STOCKS, day), rows: [], columns: toColumns(dayRows(names(200), day, 1)) },
      { job: stocks, file: file(STOCKS, '2024-01-03'), rows: [], columns: toColumns(dayRows(names(10), '2024-01-03', 1)) },
      { job: crypto, file: file(CRYPTO, day), rows: [], columns: toColumns(coins) },
    ]);
    // A symbol job's bar of a ticker the new file no longer has: it belongs to the stocks' day too.
    await queue.complete([completed(dayFile(day), [row('ZZZ', day, 5)], { ...JOB, tickers: ['ZZZ'] })]);
    expect(stored("symbol = 'ZZZ'")).toHaveLength(1);

    // Republished: T0000-T0149 only, new prices.
    const again = dayRows(names(150), day, 7);
    await queue.complete([{ job: stocks, file: file(STOCKS, day, 'etag-new'), rows: [], columns: toColumns(again) }]);
    expect(stored("day = ? AND instr(symbol, ':') = 0", day)).toEqual(expected(again, '1d', day));
    expect(stored("day = ? AND symbol LIKE 'X:%'", day)).toEqual(expected(coins, '1d', day));
    expect(stored("day = '2024-01-03'")).toHaveLength(10);
    expect((await store.doneKeys(stocks.job)).get(file(STOCKS, day).key)?.etag).toBe('etag-new');
    expect(ingested('*us_stocks_sip/day_aggs_v1')).toContainEqual(expect.objectContaining({ day, etag: 'etag-new', rows: 150 }));
    // Listed: tickers with a bar left anywhere (T0000-T0149, and T0000-T0009 on the 3rd), the coins; not ZZZ nor T0150-T0199.
    expect(await store.listSymbols('1d')).toEqual([...names(150), ...names(40, 'X:')].sort());
  });

  it('replaces a symbol job’s bars of the day, and a symbol job after it reads as before', async () => {
    const stocks = allJob(STOCKS);
    const day = '2024-01-02';
    await queue.complete([completed(dayFile(day), [row('T0001', day, 5)], { ...JOB, tickers: ['T0001'] })]);
    await queue.complete([{ job: stocks, file: file(STOCKS, day), rows: [], columns: toColumns(dayRows(names(3), day, 1)) }]);
    expect(stored("symbol = 'T0001'")).toEqual(expected(dayRows(names(3), day, 1), '1d', day).filter((r) => r.symbol === 'T0001'));
    await queue.complete([completed(dayFile(day, 'etag-2'), [row('T0001', day, 6)], { ...JOB, tickers: ['T0001'] })]);
    expect((await store.readBars('T0001', '1d', day, day)).map((b) => b.close)).toEqual([6]);
    expect(stored()).toHaveLength(3);
  });
});

describe('openFile: a large file staged chunk by chunk', () => {
  const job = allJob(MINUTES, '1m');
  const day = '2024-03-04';
  const rowsOf = (n: number, seed: number) => dayRows(names(n), day, seed, 30);

  it('keeps staged rows out of sight, commits them in one transaction, and forgets them on reset and abort', async () => {
    await store.prepareJob(job, { clear: false });
    const big = rowsOf(60, 1);
    const other = dayRows(names(20), '2024-03-05', 2, 30);
    const a = await queue.openFile(job, file(MINUTES, day));
    const b = await queue.openFile(job, file(MINUTES, '2024-03-05'));
    await a.write(toColumns(rowsOf(10, 9))); // a body that fails its check: started over
    await a.reset();
    for (let i = 0; i < big.length; i += 500) {
      await a.write(toColumns(big.slice(i, i + 500)));
      await b.write(toColumns(other.slice(0, 100)));
      // A small file of another job commits between the writes, as the batch writer does.
      if (i === 500) await queue.complete([completed(dayFile('2024-01-02'), [row('AAA', '2024-01-02', 1)])]);
    }
    // Staged, not visible: no bar of the day, no table in the cache file, nothing done.
    expect(stored('interval = ?', '1m')).toEqual([]);
    expect(reader.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%stage%'").all()).toEqual([]);
    // Nothing in the cache file is locked while a sink fills: another process writes at once.
    const writer = new Database(join(dir, CACHE_FILE), { timeout: 0 });
    writer.prepare("INSERT INTO coverage VALUES ('QQQ', '1d', '2024-01-01', '2024-01-02')").run();
    writer.close();

    // What the run saw in the file goes in with its bars.
    await a.commit([{ kind: 'outside-session', detail: { rows: 2 } }]);
    expect(stored('interval = ?', '1m')).toEqual(expected(big, '1m', day));
    expect(reader.prepare('SELECT job, key, day, kind, detail FROM file_findings').all()).toEqual([
      { job: job.job, key: file(MINUTES, day).key, day, kind: 'outside-session', detail: '{"rows":2}' },
    ]);
    expect(ingested('*us_stocks_sip/minute_aggs_v1')).toEqual([{ symbol: '*us_stocks_sip/minute_aggs_v1', interval: '1m', day, dataset: MINUTES, etag: `etag-${day}`, rows: big.length }]);
    await b.abort();
    expect(stored('day = ?', '2024-03-05')).toEqual([]);
    expect([...(await store.doneKeys(job.job)).keys()]).toEqual([file(MINUTES, day).key]);
    expect(await queue.counts()).toMatchObject({ done: 2 });
    await expect(a.write(toColumns(big.slice(0, 1)))).rejects.toThrow(/already committed or aborted/);
  });

  it('replaces a republished large day, last row of a (ticker, time) winning, leaving the other days', async () => {
    const first = await queue.openFile(job, file(MINUTES, day));
    await first.write(toColumns(rowsOf(30, 1)));
    await first.commit();
    await queue.complete([{ job, file: file(MINUTES, '2024-03-05'), rows: [], columns: toColumns(dayRows(names(5), '2024-03-05', 1, 30)) }]);
    const again = rowsOf(20, 2);
    const dup = { ...(again[0] as ParsedRow), close: 999 };
    const sink = await queue.openFile(job, file(MINUTES, day, 'etag-new'));
    await sink.write(toColumns(again));
    await sink.write(toColumns([dup]));
    await sink.commit();
    expect(stored('day = ?', day)).toEqual(expected([...again, dup], '1m', day));
    expect(stored('day = ?', day).find((r) => r.symbol === dup.ticker && r.time === dup.time)?.close).toBe(999);
    expect(stored('day = ?', '2024-03-05')).toHaveLength(150);
    expect(await store.listSymbols('1m')).toEqual(names(20));
  });
});

describe('kill -9', () => {
  /** Runs the sink child on `dir` until it prints `line`, then kills it with SIGKILL. */
  async function killAt(line: string, mode: 'stage' | 'commit', tmp: string): Promise<void> {
    await store.close();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sqlite-sink-child.ts', dir, mode, '400', '390'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SQLITE_TMPDIR: tmp },
    });
    try {
      // Lines written together arrive together: the iterator buffers them where once() would miss one.
      for await (const got of createInterface({ input: child.stdout })) if (got === line) break;
      child.kill('SIGKILL');
      await once(child, 'exit');
    } finally {
      child.kill('SIGKILL');
    }
    store = openSqliteStore(dir);
    queue = await store.openQueue([]);
  }

  it('mid-staging leaves no bar of the file, nothing done, and no staging behind', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pmd-bulk-tmp-'));
    try {
      await killAt('staged', 'stage', tmp);
      expect(stored()).toEqual([]);
      expect((await store.doneKeys(allJob(MINUTES, '1m').job)).size).toBe(0);
      expect(ingested('*us_stocks_sip/minute_aggs_v1')).toEqual([]);
      expect(reader.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%stage%'").all()).toEqual([]);
      // The staged rows were in a temp file SQLite unlinks as it creates it: nothing is left.
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);

  it('mid-commit leaves the whole day and its done mark, or neither', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pmd-bulk-tmp-'));
    try {
      await killAt('committing', 'commit', tmp);
      const n = stored().length;
      const done = (await store.doneKeys(allJob(MINUTES, '1m').job)).size;
      expect([n, done, ingested('*us_stocks_sip/minute_aggs_v1').length]).toSatisfy(
        (s: number[]) => (s[0] === 0 && s[1] === 0 && s[2] === 0) || (s[0] === 400 * 390 && s[1] === 1 && s[2] === 1),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
