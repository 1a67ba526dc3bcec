// serve builds the SQLite store's index by ticker before it listens: a large `--all` run (at least
// REBUILD_FROM_FILES day files) drops it, createServer builds it again and says so through
// onIndex, and only then is there a server to listen. The index asked of SQLite directly, the
// answers (through the provider's official client) judged against readBars and the day files.
import { join } from 'node:path';
import { restClient } from '@massive.com/client-js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, preload, readBars, type Bar, type MarketDataServer } from '../../src/index.js';
import { CACHE_FILE } from '../../src/store/sqlite/db.js';
import { REBUILD_FROM_FILES, TICKER_INDEX } from '../../src/store/sqlite/ticker-index.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { END, startWorld, STOCKS, type World } from '../e2e/helpers.js';

const START = '2026-09-01';
const now = new Date('2026-11-21T18:00:00Z');
let w: World;
let server: MarketDataServer | undefined;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await server?.close();
  await w?.close();
});

/** Whether the cache file holds the index by ticker, asked of SQLite directly. */
function hasIndex(cacheDir: string): boolean {
  const db = new Database(join(cacheDir, CACHE_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(TICKER_INDEX) !== undefined;
  } finally {
    db.close();
  }
}

const wire = (b: Bar): Record<string, number> => ({ v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.time, ...(b.transactions === null ? {} : { n: b.transactions }) });

it('builds the index a large --all dropped before it listens, says so, and answers what readBars reads', async () => {
  const cacheDir = w.cacheDir('serve-index');
  expect(dayFilesFor(w.ds, STOCKS, START, END).length).toBeGreaterThanOrEqual(REBUILD_FROM_FILES);
  await preload([], { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, all: true, start: START, end: END, now });
  expect(hasIndex(cacheDir)).toBe(false);

  const events: Array<{ state: string; ms?: number }> = [];
  server = await createServer({ cacheDir, port: 0, now: () => now, onIndex: (e) => events.push(e) }, {});
  // Built before there is a server to listen, let alone a request.
  expect(events.map((e) => e.state)).toEqual(['building', 'built']);
  expect(events[1]?.ms).toBeGreaterThanOrEqual(0);
  expect(hasIndex(cacheDir)).toBe(true);

  const { url } = await server.listen();
  const client = restClient('any-key', url);
  for (const ticker of ['TSLA', 'AAPL', 'BRK.B']) {
    const answer = await client.getStocksAggregates({ stocksTicker: ticker, multiplier: 1, timespan: 'day', from: START, to: END, adjusted: false } as never);
    const expected = await readBars(ticker, { cacheDir, adjust: 'none', start: START, end: END });
    expect(expected.length).toBeGreaterThan(40);
    expect(answer.results).toEqual(expected.map(wire));
    expect(answer.results).toEqual(readSourceBars(w.ds, STOCKS, ticker, START, END).map(wire));
  }
  await server.close();
  server = undefined;

  // Once built, a second server has nothing to build and says nothing.
  const again: unknown[] = [];
  server = await createServer({ cacheDir, port: 0, now: () => now, onIndex: (e) => again.push(e) }, {});
  expect(again).toEqual([]);
}, 180_000);
