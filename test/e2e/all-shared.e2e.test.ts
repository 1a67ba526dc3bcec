// `--all` and `sync` on a shared PostgreSQL store: two processes share the whole market's files
// (the S3 server's log across both is the judge), the store is read back with pg directly and
// compared with the files, the index by ticker the run dropped is built again, and a sync on the
// store brings it up to date, keeping the index up.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSymbol, sync } from '../../src/index.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, tickerIndexState, type TestPostgres } from '../fixtures/postgres.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceBars, readSourceRows, type SourceRow } from '../fixtures/source-bars.js';
import { END, json, runCli, STOCKS, startWorld, type World } from './helpers.js';

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

const now = new Date('2026-11-23T18:00:00Z');

async function storedRows(url: string): Promise<Map<string, SourceRow>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<SourceRow & { time: string; transactions: string | null }>(
      "SELECT symbol AS ticker, day, time, open, high, low, close, volume, transactions FROM bars WHERE interval = '1d'",
    );
    return new Map(
      rows.map((r) => {
        const row = { ...r, time: Number(r.time), transactions: r.transactions === null ? null : Number(r.transactions) };
        return [`${row.ticker}|${row.time}`, row];
      }),
    );
  } finally {
    await client.end();
  }
}

describe('--all on a shared PostgreSQL store', () => {
  it('two processes fetch each file once between them, and the store holds every row of the files', async () => {
    const store = await db.freshDatabase();
    const start = '2026-06-01';
    const files = dayFilesFor(w.ds, STOCKS, start, '2026-11-13');
    await w.server.setLatency(20);
    await w.server.resetStats();
    const args = ['--all', '--start', start, '--end', '2026-11-13', '--store', store, '--workers', '4', '--json'];
    const results = await Promise.all([0, 1].map(() => runCli(args, w.env)));
    await w.server.setLatency(0);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(files.map((f) => f.key).sort());
    for (const count of Object.values(stats.gets)) expect(count).toBe(1);
    expect(results.map((r) => json(r).files.downloaded).reduce((a, b) => a + b, 0)).toBe(files.length);
    expect(await storedRows(store)).toEqual(readSourceRows(w.ds, STOCKS, start, '2026-11-13'));
    // A large --all drops the index by ticker; opening a store this small (under BUILD_AT_OPEN_ROWS
    // bars) builds it again at once (a larger one's is a server's buildReadIndex: ticker-index.test.ts).
    expect(await tickerIndexState(store)).toBe('missing');
    const opened = await openPostgresStore(store);
    expect(await tickerIndexState(store)).toBe('valid');
    expect(await opened.buildReadIndex()).toBe(false);
    await opened.close();

    // A sync brings the store to the last published day: only the new files are fetched.
    await w.server.resetStats();
    const report = await sync({ store, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now });
    expect(report.parts.map((p) => p.symbols)).toEqual([['*']]);
    expect(Object.keys((await w.server.stats()).gets).sort()).toEqual(dayFilesFor(w.ds, STOCKS, '2026-11-14', END).map((f) => f.key).sort());
    expect(await storedRows(store)).toEqual(readSourceRows(w.ds, STOCKS, start, END));
    expect(await tickerIndexState(store)).toBe('valid'); // a sync of a few days keeps it up

    // Any ticker of those files is now served from the store with no request.
    const ticker = w.ds.tickers[STOCKS]?.find((t) => t.startsWith('K')) ?? '';
    await w.server.resetStats();
    const bars = await fetchSymbol(ticker, { store, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, start, end: END, now, adjust: 'none' });
    expect(bars).toEqual(readSourceBars(w.ds, STOCKS, ticker, start, END));
    expect((await w.server.stats()).totalGets).toBe(0);
  }, 240_000);
});
