// The PostgreSQL store's index by ticker of day bars (sql/ticker-index.ts): reads along it give
// exactly the rows of the day-by-day probes, and do go along it (PostgreSQL's own statistics);
// with it missing or invalid, reads go day by day, the same rows; a small store builds it at open,
// a large one leaves it to buildReadIndex, which builds it once of several servers at once and
// replaces an invalid one; a run offered many whole-market day files drops it, a small one or a
// minute one keeps it up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { BUILD_AT_OPEN_ROWS, REBUILD_FROM_FILES, TICKER_INDEX } from '../../../src/store/postgres/sql/ticker-index.js';
import { allScope } from '../../../src/store/scope.js';
import type { JobSpec } from '../../../src/store/types.js';
import { twoTickerDay } from '../../fixtures/columns.js';
import { STOCKS_MINUTE_DATASET } from '../../fixtures/generate.js';
import { queryOnce, startPostgres, tickerIndexState, type TestPostgres } from '../../fixtures/postgres.js';
import { asResult, RESULT_FIELDS } from '../../fixtures/result-shape.js';

const STOCKS = 'us_stocks_sip/day_aggs_v1';
let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.close();
});

const admin = queryOnce;

/** Scans of the index so far, as PostgreSQL counts them (its sessions report when they end). */
async function indexScans(url: string): Promise<number> {
  const rows = await admin<{ n: string }>(url, 'SELECT idx_scan AS n FROM pg_stat_user_indexes WHERE indexrelname = $1', [TICKER_INDEX]);
  return Number(rows[0]?.n ?? 0);
}

const day = (i: number): string => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
const INSERT = 'INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)';

/**
 * Day bars of a few tickers over 200 days, a misdated file's repeat of a session, minute bars, and
 * 500 other tickers' day bars: a read of one ticker's months is then clearly worth the index to
 * the planner (over 30 days it may take the key's skip scan instead, by the sample ANALYZE drew).
 */
async function plant(url: string): Promise<void> {
  const at = (symbols: string, interval: string, offset: number, close: string) =>
    admin(
      url,
      `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
         SELECT s.symbol, '${interval}', (extract(epoch FROM d.d) * 1000)::bigint + ${offset}, to_char(d.d, 'YYYY-MM-DD'),
           10 + i, 12 + i, 9 + i / 100.0, ${close}, 1000 + i, CASE WHEN i % 4 = 0 THEN NULL ELSE i END
         FROM (VALUES ${symbols}) s(symbol, k), generate_series(0, 199) i, LATERAL (SELECT '2024-01-01'::date + i AS d) d`,
    );
  await at("('AAA', 0), ('BBB', 1), ('X:BTCUSD', 2)", '1d', 18_000_000, '11 + i / 3.0 + s.k');
  await at("('AAA', 0)", '1m', 18_060_000, '1.5');
  await at(Array.from({ length: 500 }, (_, t) => `('F${t}', ${t})`).join(', '), '1d', 18_000_000, '1.5 + s.k');
  // Day 5's session again under day 6's file, other prices: both reads keep the later file's.
  await admin(url, INSERT, ['AAA', '1d', Date.parse(`${day(5)}T05:00:00Z`), day(6), 1, 2, 0.5, 99, 5, 1]);
}

describe('reads along the index by ticker', () => {
  it('give the rows of the day-by-day probes, the later of two files holding one time, and go along the index', async () => {
    const url = await server.freshDatabase();
    const store = await openPostgresStore(url);
    expect(await tickerIndexState(url)).toBe('valid'); // a fresh store: built at open
    await plant(url);
    // Built again as a server builds it (buildReadIndex ends with the VACUUM an index-only scan needs).
    await admin(url, `DROP INDEX ${TICKER_INDEX}`);
    expect(await store.buildReadIndex?.()).toBe(true);
    const windows = [
      ['AAA', day(0), day(199)],
      ['AAA', day(3), day(9)],
      ['BBB', '2000-01-01', '2100-01-01'],
      ['X:BTCUSD', day(10), day(10)],
      ['ZZZ', day(0), day(199)],
    ] as const;
    const scansBefore = await indexScans(url);
    const along = [];
    for (const [t, s, e] of windows) {
      along.push({ bars: await store.readBars(t, '1d', s, e), json: await store.readBarsJson?.(t, '1d', s, e, { fields: RESULT_FIELDS, desc: false, limit: 5000 }) });
    }
    const minutes = await store.readBars('AAA', '1m', day(0), day(199));
    await store.close();
    // The reads of the 3 long windows went along the index (the store's sessions ended: their counts
    // are in); a window of a few days the planner may read through the key's skip scan, as cheap.
    await expect.poll(() => indexScans(url), { timeout: 15_000 }).toBeGreaterThanOrEqual(scansBefore + 2 * 3);
    expect(along[0]?.bars).toHaveLength(200);
    expect(along[0]?.bars.filter((b) => b.close === 99)).toHaveLength(1);
    expect(along[4]?.bars).toEqual([]);
    expect(minutes).toHaveLength(200);

    // The same reads without the index: probes of the key, day by day.
    await admin(url, `DROP INDEX ${TICKER_INDEX}`);
    const reopened = await openPostgresStore(url);
    // Small again: opening builds it; dropped once more to read without it.
    expect(await tickerIndexState(url)).toBe('valid');
    await admin(url, `DROP INDEX ${TICKER_INDEX}`);
    for (const [i, [t, s, e]] of windows.entries()) {
      const bars = await reopened.readBars(t, '1d', s, e);
      expect(bars).toEqual(along[i]?.bars);
      expect(JSON.parse(along[i]?.json?.json ?? '')).toEqual(bars.map(asResult));
      expect(await reopened.readBarsJson?.(t, '1d', s, e, { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toEqual(along[i]?.json);
    }
    expect(await reopened.readBars('AAA', '1m', day(0), day(199))).toEqual(minutes);
    await reopened.close();
  });
});

describe('a large store', () => {
  it('opens without building the index; reads go on; buildReadIndex of two servers at once builds it once, and replaces an invalid one', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    await admin(url, `DROP INDEX ${TICKER_INDEX}`);
    // No autovacuum: the planner's estimate stays what the index build left (0 rows) until ANALYZE.
    await admin(url, 'ALTER TABLE bars SET (autovacuum_enabled = false)');
    // More rows than BUILD_AT_OPEN_ROWS: 40 days of 5,500 tickers, one row of them TSLA's.
    const tickers = Math.ceil(BUILD_AT_OPEN_ROWS / 40) + 500;
    await admin(
      url,
      `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
         SELECT 'T' || t, '1d', (extract(epoch FROM d) * 1000)::bigint + 18000000, to_char(d, 'YYYY-MM-DD'), t, t + 1, t - 1, t + extract(day FROM d), 100, NULL
         FROM generate_series(1, $1::int) t, generate_series('2024-01-01'::date, '2024-02-09'::date, '1 day') d`,
      [tickers],
    );
    const estimate = async () => Number((await admin<{ rows: number }>(url, "SELECT reltuples AS rows FROM pg_class WHERE oid = 'bars'::regclass"))[0]?.rows);
    // Opening decides by counting (the estimate says small) ...
    expect(await estimate()).toBeLessThan(BUILD_AT_OPEN_ROWS);
    const store = await openPostgresStore(url);
    expect(await tickerIndexState(url)).toBe('missing');
    // ... and, once analyzed, by the estimate.
    await admin(url, 'ANALYZE bars');
    expect(await estimate()).toBeGreaterThan(BUILD_AT_OPEN_ROWS);
    await (await openPostgresStore(url)).close();
    expect(await tickerIndexState(url)).toBe('missing');
    const without = await store.readBars('T77', '1d', day(0), day(39));
    expect(without.map((b) => b.close)).toEqual(Array.from({ length: 40 }, (_, i) => 77 + Number(day(i).slice(8))));

    const other = await openPostgresStore(url);
    const building: string[] = [];
    const built = await Promise.all([store, other].map((s, i) => s.buildReadIndex?.(() => building.push(`store ${i}`))));
    expect(built.filter((b) => b === true)).toHaveLength(1);
    expect(built.filter((b) => b === false)).toHaveLength(1);
    expect(building).toHaveLength(1);
    expect(await tickerIndexState(url)).toBe('valid');
    expect(await store.readBars('T77', '1d', day(0), day(39))).toEqual(without);
    expect(await store.buildReadIndex?.()).toBe(false);

    // A concurrent build that failed leaves an invalid index of that name: reads keep off it, and
    // buildReadIndex drops it and builds the real one.
    await admin(url, `DROP INDEX ${TICKER_INDEX}`);
    await expect(admin(url, `CREATE UNIQUE INDEX CONCURRENTLY ${TICKER_INDEX} ON bars (interval)`)).rejects.toThrow(/could not create unique index/);
    expect(await tickerIndexState(url)).toBe('invalid');
    expect(await store.readBars('T77', '1d', day(0), day(39))).toEqual(without);
    const json = await store.readBarsJson?.('T77', '1d', day(0), day(39), { fields: RESULT_FIELDS, desc: false, limit: 5000 });
    expect(JSON.parse(json?.json ?? '')).toEqual(without.map(asResult));
    expect(await other.buildReadIndex?.()).toBe(true);
    expect(await tickerIndexState(url)).toBe('valid');
    const [def] = await admin<{ indexdef: string }>(url, 'SELECT indexdef FROM pg_indexes WHERE indexname = $1', [TICKER_INDEX]);
    expect(def?.indexdef).toContain('(symbol, "time", day) INCLUDE');
    expect(await store.readBars('T77', '1d', day(0), day(39))).toEqual(without);
    await Promise.all([store.close(), other.close()]);
  }, 120_000);
});

describe('a run', () => {
  it.each([
    [3, '1d', true],
    [REBUILD_FROM_FILES + 4, '1d', false],
    [REBUILD_FROM_FILES + 4, '1m', true],
  ] as const)('offered %i whole-market files of %s keeps the index up: %s', async (offered, interval, kept) => {
    const url = await server.freshDatabase();
    const store = await openPostgresStore(url);
    expect(await tickerIndexState(url)).toBe('valid');
    const dataset = interval === '1d' ? STOCKS : STOCKS_MINUTE_DATASET;
    const job: JobSpec = { job: `all/${interval}`, dataset, interval, tickers: [allScope(dataset)], all: true };
    await store.prepareJob(job, { clear: false });
    const queue = await store.openQueue([job]);
    const file = (i: number) => ({ key: `k/${day(i)}.csv.gz`, day: day(i), size: 1, etag: 'e', lastModified: undefined });
    await queue.offer(job, Array.from({ length: offered }, (_, i) => file(i)));
    await queue.claim(2);
    await queue.complete([0, 1].map((i) => ({ job, file: file(i), rows: [], columns: twoTickerDay(day(i), i) })));
    expect(await tickerIndexState(url)).toBe(kept ? 'valid' : 'missing');
    const read = await store.readBars('TSLA', interval, day(0), day(1));
    expect(read.map((b) => [b.close, b.transactions])).toEqual([
      [0, 7],
      [1, 7],
    ]);
    await queue.close();
    expect(await store.buildReadIndex?.()).toBe(!kept);
    expect(await tickerIndexState(url)).toBe('valid');
    expect(await store.readBars('TSLA', interval, day(0), day(1))).toEqual(read);
    await store.close();
  });
});
