// The file is the calendar (issue 27, point 1): the provider's 2019-08-12 stocks day file stamps
// every row with 2019-08-13. Five day files 2019-08-08..14 are planted in the test server, the
// 08-12 one made that way, and run as a user would, in symbol runs and --all, on both stores.
// The store is read back with a reader the code did not write (better-sqlite3, pg) and compared
// with the planted rows; the report must name the file and count what a read returns.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBars, sync, type Bar } from '../../src/index.js';
import { openStore } from '../../src/store/open.js';
import { queryOnce, startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { putObject, runCli, STOCKS, startWorld, type World } from './helpers.js';

const HEADER = 'ticker,volume,open,close,high,low,window_start,transactions';
const TICKERS = ['AAPL', 'MSFT', 'TSLA'] as const;
const DAYS = ['2019-08-08', '2019-08-09', '2019-08-12', '2019-08-13', '2019-08-14'] as const;
/** Midnight New York (EDT) of each day, ms: what the provider stamps a day bar with. */
const STAMP: Record<string, number> = {
  '2019-08-08': 1565236800000,
  '2019-08-09': 1565323200000,
  '2019-08-12': 1565582400000,
  '2019-08-13': 1565668800000,
  '2019-08-14': 1565755200000,
};
const MISDATED = '2019-08-12';
const keyOf = (dataset: string, day: string): string => `${dataset}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`;
const MISDATED_KEY = keyOf(STOCKS, MISDATED);
const MINUTES = 'us_stocks_sip/minute_aggs_v1';

type Planted = Bar & { ticker: string; day: string; transactions: number };

/** The planted bars, as they belong: under their file's day, whatever the 08-12 file says. */
const planted: Planted[] = DAYS.flatMap((day, d) =>
  TICKERS.map((ticker, t) => {
    const open = 100 + 10 * t + d;
    return { ticker, day, time: STAMP[day] as number, open, high: open + 2, low: open - 1, close: open + 1, volume: 1000 * (t + 1) + d, transactions: 10 + d };
  }),
);

function dayFile(day: string): Buffer {
  // The 08-12 file claims the next day on every row, as the real one does.
  const ns = `${STAMP[day === MISDATED ? '2019-08-13' : day]}000000`;
  const lines = planted.filter((b) => b.day === day).map((b) => `${b.ticker},${b.volume},${b.open},${b.close},${b.high},${b.low},${ns},${b.transactions}`);
  return gzipSync(`${[HEADER, ...lines].join('\n')}\n`);
}

// A minute file of 2019-08-12 with TSLA's 09:30 and 09:31 bars, and two rows of 2019-08-14.
const MINUTE_0930 = 1565616600000;
const minuteRows = [MINUTE_0930, MINUTE_0930 + 60_000, MINUTE_0930 + 2 * 86_400_000, MINUTE_0930 + 2 * 86_400_000 + 60_000];
const minuteFile = gzipSync(`${[HEADER, ...minuteRows.map((t, i) => `TSLA,${100 + i},${200 + i},${201 + i},${202 + i},${199 + i},${t}000000,${i + 1}`)].join('\n')}\n`);

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
  for (const day of DAYS) putObject(w, keyOf(STOCKS, day), dayFile(day));
  putObject(w, keyOf(MINUTES, MISDATED), minuteFile);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

const WINDOW = ['--start', DAYS[0], '--end', DAYS[4]];

interface Report {
  bars: number;
  misdatedFiles?: Array<{ key: string; day: string; rows: number; claimedDate: string }>;
  outsideSession?: Array<{ key: string; day: string; rows: number }>;
  files: { downloaded: number; failed: number };
}

async function run(args: string[]): Promise<Report> {
  const r = await runCli([...args, '--json'], w.env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

type Row = Omit<Planted, 'transactions'> & { transactions: number | null };

function sqliteRows(cacheDir: string, interval = '1d'): Row[] {
  const sql = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return sql
      .prepare<[string], Row>('SELECT symbol AS ticker, day, time, open, high, low, close, volume, transactions FROM bars WHERE interval = ? ORDER BY day, symbol, time')
      .all(interval);
  } finally {
    sql.close();
  }
}

function sqliteFindings(cacheDir: string): unknown[] {
  const sql = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return sql
      .prepare('SELECT dataset, key, day, kind, detail FROM file_findings ORDER BY key, kind')
      .all()
      .map((r) => ({ ...(r as object), detail: JSON.parse((r as { detail: string }).detail) as unknown }));
  } finally {
    sql.close();
  }
}

const pgQuery = queryOnce;

async function pgRows(url: string): Promise<Row[]> {
  const rows = await pgQuery<Row & { time: string; transactions: string | null }>(
    url,
    "SELECT symbol AS ticker, day, time, open, high, low, close, volume, transactions FROM bars WHERE interval = '1d' ORDER BY day, symbol, time",
  );
  return rows.map((r) => ({ ...r, time: Number(r.time), transactions: r.transactions === null ? null : Number(r.transactions) }));
}

/** What a read returns for the planted tickers over the window (the library's own read). */
async function readCount(where: { cacheDir?: string; store?: string }): Promise<number> {
  let n = 0;
  for (const t of TICKERS) n += (await readBars(t, { ...where, start: DAYS[0], end: DAYS[4], adjust: 'none' })).length;
  return n;
}

const misdatedEntry = (rows: number) => [{ key: MISDATED_KEY, day: MISDATED, rows, claimedDate: '2019-08-13' }];
const finding = (rows: number) => ({ dataset: STOCKS, key: MISDATED_KEY, day: MISDATED, kind: 'misdated', detail: { rows, claimedDate: '2019-08-13' } });

describe('a day file whose rows claim the next day, on SQLite', () => {
  it.each([
    ['a symbol run', [...TICKERS]],
    ['an --all run', ['--all']],
  ])('%s stores them under the file day, names the file, and counts what a read returns', async (_, what) => {
    const cacheDir = w.cacheDir(`misdated-${what[0]}`);
    const report = await run([...what, ...WINDOW, '--cache-dir', cacheDir]);
    expect(report.files).toMatchObject({ downloaded: 5, failed: 0 });
    // Every planted bar, under its file's day with the day's stamp: the 08-12 session is there.
    expect(sqliteRows(cacheDir)).toEqual(planted);
    expect(report.misdatedFiles).toEqual(misdatedEntry(3));
    expect(report.bars).toBe(15);
    expect(report.bars).toBe(await readCount({ cacheDir }));
    expect(sqliteFindings(cacheDir)).toEqual([finding(3)]);
    // The store's own read of the findings, for `check`.
    const store = await openStore({ store: undefined, cacheDir });
    try {
      const found = await store.fileFindings(STOCKS);
      expect(found.map(({ seenAt, job, ...f }) => (expect(Date.parse(seenAt)).not.toBeNaN(), expect(job).not.toBe(''), f))).toEqual([finding(3)]);
      expect(await store.fileFindings('us_indices/day_aggs_v1')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('the summary names the file, its rows and the date they claimed', async () => {
    const r = await runCli(['TSLA', ...WINDOW, '--cache-dir', w.cacheDir('misdated-summary')], w.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2019-08-12.csv.gz: 1 row stamped 2019-08-13, stored under 2019-08-12');
    expect(r.stdout).toContain('5 bars merged');
    const show = await runCli(['show', 'TSLA', '--adjust', 'none', ...WINDOW, '--cache-dir', w.cacheDir('misdated-summary'), '--format', 'jsonl'], w.env);
    expect(show.code, show.stderr).toBe(0);
    const times = show.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { time: number }).time);
    // One bar a session, 2019-08-12's among them, each at its day's New York midnight.
    expect(times).toEqual(DAYS.map((d) => STAMP[d]));
  });
});

describe('a day file whose rows claim the next day, on PostgreSQL', () => {
  it.each([
    ['a symbol run', [...TICKERS]],
    ['an --all run', ['--all']],
  ])('%s stores them under the file day, names the file, and counts what a read returns', async (_, what) => {
    const store = await db.freshDatabase();
    const report = await run([...what, ...WINDOW, '--store', store]);
    expect(report.files).toMatchObject({ downloaded: 5, failed: 0 });
    expect(await pgRows(store)).toEqual(planted);
    expect(report.misdatedFiles).toEqual(misdatedEntry(3));
    expect(report.bars).toBe(15);
    expect(report.bars).toBe(await readCount({ store }));
    const found = await pgQuery<{ dataset: string; key: string; day: string; kind: string; detail: unknown }>(
      store,
      'SELECT dataset, key, day, kind, detail FROM file_findings ORDER BY key, kind',
    );
    expect(found).toEqual([finding(3)]);
    const s = await openStore({ store, cacheDir: w.cacheDir('unused') });
    try {
      expect((await s.fileFindings()).map(({ dataset, key, day, kind, detail }) => ({ dataset, key, day, kind, detail }))).toEqual([finding(3)]);
    } finally {
      await s.close();
    }
  });

  it('a file read again replaces what the job recorded of it', async () => {
    const store = await db.freshDatabase();
    await run(['TSLA', ...WINDOW, '--store', store]);
    const again = await run(['TSLA', ...WINDOW, '--store', store, '--clear-progress']);
    expect(again.misdatedFiles).toEqual(misdatedEntry(1));
    expect(await pgQuery(store, 'SELECT key, detail FROM file_findings')).toEqual([{ key: MISDATED_KEY, detail: { rows: 1, claimedDate: '2019-08-13' } }]);
  });
});

describe('a sync', () => {
  it.each([
    ['SQLite', 'a symbol job', [...TICKERS]],
    ['PostgreSQL', 'an --all job', ['--all']],
  ])('on %s, %s: the part that read the file names it, and its bars are under the file day', async (kind, _, what) => {
    const where = kind === 'SQLite' ? { cacheDir: w.cacheDir(`sync-${what[0]}`) } : { store: await db.freshDatabase() };
    const whereArgs = where.cacheDir === undefined ? ['--store', where.store ?? ''] : ['--cache-dir', where.cacheDir];
    // The job as far as 08-09; the sync then brings it to 08-14, the last day published by then.
    const first = await run([...what, '--start', DAYS[0], '--end', DAYS[1], ...whereArgs]);
    expect(first.misdatedFiles).toBeUndefined();
    const report = await sync({ ...where, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now: new Date('2019-08-15T18:00:00Z') });
    expect(report.parts).toHaveLength(1);
    const part = report.parts[0]?.report;
    expect(part?.misdatedFiles).toEqual(misdatedEntry(3));
    expect(part?.bars).toBe(9);
    const rows = where.cacheDir === undefined ? await pgRows(where.store ?? '') : sqliteRows(where.cacheDir);
    expect(rows).toEqual(planted);
  });
});

describe('a minute file with rows outside its day', () => {
  it('counts and names them, and keeps them with their own time', async () => {
    const cacheDir = w.cacheDir('outside-session');
    const report = await run(['TSLA', '--interval', '1m', '--start', MISDATED, '--end', MISDATED, '--cache-dir', cacheDir]);
    expect(report.outsideSession).toEqual([{ key: keyOf(MINUTES, MISDATED), day: MISDATED, rows: 2 }]);
    expect(report.misdatedFiles).toBeUndefined();
    expect(sqliteRows(cacheDir, '1m').map((r) => [r.day, r.time])).toEqual(minuteRows.map((t) => [MISDATED, t]));
    expect(report.bars).toBe(4);
    expect(sqliteFindings(cacheDir)).toEqual([{ dataset: MINUTES, key: keyOf(MINUTES, MISDATED), day: MISDATED, kind: 'outside-session', detail: { rows: 2 } }]);
  });
});
