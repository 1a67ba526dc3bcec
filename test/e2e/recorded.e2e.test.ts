// What a run records for `check` (issue 27): rows of one ticker and time with different values
// inside one day file (a `duplicate` note: the last row of the file is kept), and a republished
// file whose bars changed (a `revised` note: stored against new). Day files are planted in the
// test server as the provider's would be, run as a user would (symbol runs and --all, on SQLite
// and PostgreSQL, and a sync), and the store is read back with a reader the code did not write
// (better-sqlite3, pg) and compared with the planted rows.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, readBars, sync } from '../../src/index.js';
import { queryOnce, startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { putObject, runCli, STOCKS, startWorld, type World } from './helpers.js';

const HEADER = 'ticker,volume,open,close,high,low,window_start,transactions';
const TICKERS = ['AAPL', 'MSFT', 'TSLA'] as const;
const keyOf = (day: string): string => `${STOCKS}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`;
/** Midnight New York of a day of 2018 between March 11 and November 4 (EDT), ms: the provider's stamp of a day bar. */
const stamp = (day: string): number => Date.parse(`${day}T04:00:00Z`);

interface Planted {
  ticker: string;
  day: string;
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  transactions: number | null;
}
const valuesOf = ({ open, high, low, close, volume, transactions }: Planted) => ({ open, high, low, close, volume, transactions });

function bar(ticker: string, day: string, open: number, d = 0): Planted {
  return { ticker, day, time: stamp(day), open, high: open + 2, low: open - 1, close: open + 1, volume: 1000 + d, transactions: 10 + d };
}

/** A day file of these rows, in this order (sorted by ticker, as the provider's are). */
function gz(rows: readonly Planted[], level = 6): Buffer {
  const lines = rows.map((b) => `${b.ticker},${b.volume},${b.open},${b.close},${b.high},${b.low},${b.time}000000,${b.transactions ?? ''}`);
  return gzipSync(`${[HEADER, ...lines].join('\n')}\n`, { level });
}

/**
 * Three day files. The second holds MSFT three times: a row with other values, then one identical
 * to the last, then the last (kept); and AAPL twice, identical (harmless, no note).
 */
function week(days: readonly [string, string, string]) {
  const [d1, d2, d3] = days;
  const rows = (day: string, d: number) => TICKERS.map((t, i) => bar(t, day, 100 + 10 * i + d, d));
  const kept = bar('MSFT', d2, 555, 7);
  const dropped = { ...bar('MSFT', d2, 111, 0), transactions: null };
  const [aapl2, , tsla2] = rows(d2, 1) as [Planted, Planted, Planted];
  const file2 = [aapl2, aapl2, dropped, kept, kept, tsla2];
  // What the store must hold: one bar a ticker and day, MSFT's the last of its rows.
  const stored = [...rows(d1, 0), aapl2, kept, tsla2, ...rows(d3, 2)];
  return { days, files: [rows(d1, 0), file2, rows(d3, 2)], stored, kept, dropped };
}

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

interface Report {
  bars: number;
  republished: number;
  duplicateRows: number;
  duplicateFiles?: Array<{ key: string; day: string; rows: number }>;
  files: { downloaded: number; failed: number };
}

async function run(args: string[]): Promise<Report> {
  const r = await runCli([...args, '--json'], w.env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

interface Finding {
  key: string;
  day: string;
  kind: string;
  detail: unknown;
}

/** The store read by a reader of the test's own: its day bars, and the findings of its runs. */
interface Reader {
  args: string[];
  where: { cacheDir?: string; store?: string };
  bars(): Promise<Planted[]>;
  findings(): Promise<Finding[]>;
  /** Stored bars of an interval. */
  count(interval: string): Promise<number | undefined>;
}

function sqliteReader(cacheDir: string): Reader {
  const all = <T>(text: string): T[] => {
    const sql = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return sql.prepare(text).all() as T[];
    } finally {
      sql.close();
    }
  };
  return {
    args: ['--cache-dir', cacheDir],
    where: { cacheDir },
    bars: async () => all<Planted>("SELECT symbol AS ticker, day, time, open, high, low, close, volume, transactions FROM bars WHERE interval = '1d' ORDER BY day, symbol"),
    findings: async () =>
      all<Finding & { detail: string }>('SELECT key, day, kind, detail FROM file_findings ORDER BY key, kind').map((f) => ({ ...f, detail: JSON.parse(f.detail) as unknown })),
    count: async (interval) => all<{ n: number }>(`SELECT COUNT(*) AS n FROM bars WHERE interval = '${interval}'`)[0]?.n,
  };
}

function pgReader(url: string): Reader {
  const all = <T extends pg.QueryResultRow>(text: string): Promise<T[]> => queryOnce<T>(url, text);
  return {
    args: ['--store', url],
    where: { store: url },
    bars: async () =>
      all<Planted>(
        "SELECT symbol AS ticker, day, time::float8 AS time, open, high, low, close, volume, transactions::float8 AS transactions FROM bars WHERE interval = '1d' ORDER BY day, symbol",
      ),
    findings: () => all<Finding>('SELECT key, day, kind, detail FROM file_findings ORDER BY key, kind'),
    count: async (interval) => (await all<{ n: number }>(`SELECT COUNT(*)::int AS n FROM bars WHERE interval = '${interval}'`))[0]?.n,
  };
}

/** What the library's own read returns of the planted tickers over the days. */
async function readCount(where: Reader['where'], days: readonly string[]): Promise<number> {
  let n = 0;
  for (const t of [...TICKERS, 'NVDA']) n += (await readBars(t, { ...where, start: days[0], end: days.at(-1), adjust: 'none' })).length;
  return n;
}

const CASES = [
  { store: 'SQLite', what: 'a symbol run', args: [...TICKERS], days: ['2018-03-12', '2018-03-13', '2018-03-14'] },
  { store: 'SQLite', what: 'an --all run', args: ['--all'], days: ['2018-03-19', '2018-03-20', '2018-03-21'] },
  { store: 'PostgreSQL', what: 'a symbol run', args: [...TICKERS], days: ['2018-04-02', '2018-04-03', '2018-04-04'] },
  { store: 'PostgreSQL', what: 'an --all run', args: ['--all'], days: ['2018-04-09', '2018-04-10', '2018-04-11'] },
] as const;

const reader = async (store: string, name: string): Promise<Reader> => (store === 'SQLite' ? sqliteReader(w.cacheDir(name)) : pgReader(await db.freshDatabase()));

describe.each(CASES)('on $store, $what', ({ store, what, args, days }) => {
  it('keeps the last of rows of one ticker and time, records the others that differ, and counts what a read returns', async () => {
    const wk = week(days);
    days.forEach((day, i) => putObject(w, keyOf(day), gz(wk.files[i] as Planted[])));
    const r = await reader(store, `dup-${what}`);
    const window = ['--start', days[0], '--end', days[2]];
    const report = await run([...args, ...window, ...r.args]);
    expect(report.files).toMatchObject({ downloaded: 3, failed: 0 });
    expect(await r.bars()).toEqual(wk.stored);
    expect(report.bars).toBe(9);
    expect(report.bars).toBe(await readCount(r.where, days));
    // Both MSFT repeats and AAPL's are counted; only the MSFT row with other values is a finding.
    expect(report.duplicateRows).toBe(3);
    expect(report.duplicateFiles).toEqual([{ key: keyOf(days[1]), day: days[1], rows: 1 }]);
    expect(await r.findings()).toEqual([
      {
        key: keyOf(days[1]),
        day: days[1],
        kind: 'duplicate',
        detail: { rows: 1, examples: [{ ticker: 'MSFT', time: stamp(days[1]), before: valuesOf(wk.kept), after: valuesOf(wk.dropped) }] },
      },
    ]);

    // The provider republishes the third file: TSLA's bar changed, AAPL's gone, NVDA new.
    const [aapl3, msft3, tsla3] = wk.files[2] as [Planted, Planted, Planted];
    const tslaNew = { ...tsla3, close: tsla3.close + 5, volume: 1 };
    const nvda = bar('NVDA', days[2], 900);
    const republished = [msft3, nvda, tslaNew];
    putObject(w, keyOf(days[2]), gz(republished));
    const again = await run([...args, ...window, ...r.args]);
    expect(again).toMatchObject({ republished: 1, files: { downloaded: 1, failed: 0 } });
    const symbolRun = args[0] !== '--all';
    // A symbol run compares its tickers only: NVDA is not one of them.
    const revised = {
      key: keyOf(days[2]),
      day: days[2],
      kind: 'revised',
      detail: { rows: 1, added: symbolRun ? 0 : 1, removed: 1, examples: [{ ticker: 'TSLA', time: stamp(days[2]), before: valuesOf(tsla3), after: valuesOf(tslaNew) }] },
    };
    expect((await r.findings()).filter((f) => f.kind === 'revised')).toEqual([revised]);
    const third = (await r.bars()).filter((b) => b.day === days[2]);
    expect(third).toEqual(symbolRun ? [msft3, tslaNew] : [msft3, nvda, tslaNew]);
    expect(again.bars).toBe(third.length);
    expect(await readCount(r.where, days)).toBe(6 + third.length);
    expect(third.map((b) => b.ticker)).not.toContain(aapl3.ticker);

    // Republished once more with the same bars (other bytes, another ETag): nothing changed, no note.
    putObject(w, keyOf(days[2]), gz(republished, 1));
    const same = await run([...args, ...window, ...r.args]);
    expect(same.republished).toBe(1);
    expect((await r.findings()).map((f) => f.kind)).toEqual(['duplicate']);
  });
});

describe('a sync', () => {
  it.each([
    { store: 'SQLite', what: 'a symbol job', args: [...TICKERS], days: ['2018-05-14', '2018-05-15', '2018-05-16'] },
    { store: 'PostgreSQL', what: 'an --all job', args: ['--all'], days: ['2018-06-11', '2018-06-12', '2018-06-13'] },
  ] as const)('on $store, $what: a republished file with changed bars is recorded as revised', async ({ store, what, args, days }) => {
    const wk = week(days);
    days.forEach((day, i) => putObject(w, keyOf(day), gz(wk.files[i] as Planted[])));
    const r = await reader(store, `sync-${what}`);
    await run([...args, '--start', days[0], '--end', days[2], ...r.args]);
    const [aapl3, msft3, tsla3] = wk.files[2] as [Planted, Planted, Planted];
    const aaplNew = { ...aapl3, open: aapl3.open - 0.5, transactions: null };
    putObject(w, keyOf(days[2]), gz([aaplNew, msft3, tsla3]));
    const report = await sync({ ...r.where, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now: new Date(stamp(days[2]) + 86_400_000 + 14 * 3_600_000) });
    expect(report.parts[0]?.report.republished).toBe(1);
    expect((await r.findings()).filter((f) => f.kind === 'revised')).toEqual([
      {
        key: keyOf(days[2]),
        day: days[2],
        kind: 'revised',
        detail: { rows: 1, added: 0, removed: 0, examples: [{ ticker: 'AAPL', time: stamp(days[2]), before: valuesOf(aapl3), after: valuesOf(aaplNew) }] },
      },
    ]);
    expect((await r.bars()).filter((b) => b.day === days[2])).toEqual([aaplNew, msft3, tsla3]);
  });
});

describe('an --all run of a large (streamed) minute file', () => {
  const MINUTES = 'us_stocks_sip/minute_aggs_v1';
  const DAY = '2018-07-09';
  const KEY = `${MINUTES}/2018/07/${DAY}.csv.gz`;
  const TICKERS_N = 400;
  const open = Date.parse(`${DAY}T13:30:00Z`);
  const minute = (t: number, m: number, p: number): Planted => {
    const price = 10 + t + (m % 50) / 100 + p;
    return { ticker: `T${String(t).padStart(5, '0')}`, day: DAY, time: open + m * 60_000, open: price, high: price + 0.5, low: price - 0.5, close: price + 0.25, volume: 100 + m, transactions: 1 + (m % 9) };
  };
  /**
   * 400 tickers x 390 minutes (156,000 rows, over the 8 MiB a file streams above: gzip level 0).
   * The store takes a streamed file in chunks of 50,000 rows: T00128's run straddles the first
   * chunk's end, and repeats its 09:31 bar (other values) after its last one.
   */
  const rows = (change: (r: Planted) => Planted | undefined = (r) => r): Planted[] =>
    Array.from({ length: TICKERS_N }, (_, t) => [
      ...Array.from({ length: 390 }, (__, m) => change(minute(t, m, 0))),
      ...(t === 128 ? [change({ ...minute(t, 1, 7), volume: 5 })] : []),
    ]).flat().filter((r): r is Planted => r !== undefined);

  it.each(['SQLite', 'PostgreSQL'])('on %s: the repeat across a chunk is dropped and named, bars count what is stored, a republished file is compared', async (store) => {
    const first = rows();
    const body = gz(first, 0);
    expect(body.length).toBeGreaterThan(8 * 1024 * 1024);
    putObject(w, KEY, body);
    const r = await reader(store, 'streamed');
    const options = { ...r.where, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, all: true, dataset: MINUTES, start: DAY, end: DAY, adjust: 'none' as const };
    const report = await preload([], options);
    expect(report).toMatchObject({ failures: [], files: { downloaded: 1 }, duplicateRows: 1, duplicateFiles: [{ key: KEY, day: DAY, rows: 1 }] });
    const kept = first[128 * 390 + 390] as Planted;
    expect(kept).toMatchObject({ ticker: 'T00128', volume: 5 });
    const dropped = first[128 * 390 + 1] as Planted;
    expect(dropped).toMatchObject({ ticker: 'T00128', time: kept.time });
    const count = async (): Promise<number> => (await r.count('1m')) ?? -1;
    expect(report.bars).toBe(TICKERS_N * 390);
    expect(await count()).toBe(report.bars);
    const t128 = await readBars('T00128', { ...r.where, interval: '1m', start: DAY, end: DAY, adjust: 'none' });
    expect(t128).toHaveLength(390);
    expect(t128[1]).toEqual({ time: kept.time, open: kept.open, high: kept.high, low: kept.low, close: kept.close, volume: 5, transactions: kept.transactions });
    const duplicate = (await r.findings()).find((f) => f.kind === 'duplicate');
    expect(duplicate?.detail).toEqual({ rows: 1, examples: [{ ticker: 'T00128', time: kept.time, before: valuesOf(kept), after: valuesOf(dropped) }] });

    // Republished: T00200's 09:35 bar changed, T00300 gone, the repeat gone too.
    const before = minute(200, 5, 0);
    const after = { ...before, close: before.close + 1 };
    const second = rows((x) => (x.ticker === 'T00300' || (x.ticker === 'T00128' && x.volume === 5) ? undefined : x.ticker === 'T00200' && x.time === before.time ? after : x));
    putObject(w, KEY, gz(second, 0));
    const again = await preload([], options);
    expect(again).toMatchObject({ failures: [], republished: 1, bars: second.length });
    expect(await count()).toBe(second.length);
    // T00128's 09:31 bar goes back to the file's only row of it: changed too.
    expect((await r.findings()).find((f) => f.kind === 'revised')?.detail).toEqual({
      rows: 2,
      added: 0,
      removed: 390,
      examples: [
        { ticker: 'T00128', time: kept.time, before: valuesOf(kept), after: valuesOf(dropped) },
        { ticker: 'T00200', time: before.time, before: valuesOf(before), after: valuesOf(after) },
      ],
    });
  }, 180_000);
});
