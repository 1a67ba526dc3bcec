// serve's answers on a PostgreSQL store are the SQLite store's: the same runs into each, the same
// requests, byte-for-byte the same results (request ids aside), and readBars on PostgreSQL agrees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, readBars } from '../../../src/index.js';
import { corporateActionsFixture } from '../../fixtures/actions.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { startRestServer, type RestServer } from '../../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../../fixtures/s3-server.js';
import { closeAll, serveStore, type ServedStore } from '../../fixtures/serve-app.js';
import { END, startWorld, type World } from '../../e2e/helpers.js';

const KEY = 'rest-key-0123456789';
const now = new Date('2026-11-21T18:00:00Z');
const START = '2024-01-01';
let w: World;
let rest: RestServer;
let pg: TestPostgres;
let onPostgres: ServedStore;
let onSqlite: ServedStore;
let storeUrl: string;

beforeAll(async () => {
  w = await startWorld();
  rest = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture() });
  pg = await startPostgres();
  storeUrl = await pg.freshDatabase();
  const cacheDir = w.cacheDir('serve-pg');
  const base = { endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, start: START, end: END, now, apiKey: KEY, apiEndpoint: rest.url };
  for (const store of [storeUrl, undefined]) {
    await preload(['TSLA', 'NVDA', 'X:BTC-USD'], { ...base, cacheDir, store });
    await preload([], { ...base, cacheDir, store, all: true, start: '2026-11-16' });
  }
  onPostgres = await serveStore({ store: storeUrl, cacheDir }, now);
  onSqlite = await serveStore({ store: undefined, cacheDir }, now);
}, 300_000);
afterAll(() => closeAll(onPostgres, onSqlite, pg, rest, w));

async function body(base: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}${path}`);
  const b = (await r.json()) as Record<string, unknown>;
  delete b['request_id'];
  if (typeof b['next_url'] === 'string') b['next_url'] = b['next_url'].replace(base, '');
  return { status: r.status, body: b };
}

describe('serve on PostgreSQL', () => {
  it.each([
    `/v2/aggs/ticker/TSLA/range/1/day/${START}/${END}`,
    `/v2/aggs/ticker/NVDA/range/1/week/${START}/${END}?adjusted=false`,
    `/v2/aggs/ticker/NVDA/range/1/month/${START}/${END}?limit=100`,
    `/v2/aggs/ticker/X:BTCUSD/range/1/day/${START}/${END}?sort=desc`,
    '/v2/aggs/ticker/TSLA/prev',
    '/v1/open-close/NVDA/2024-06-07',
    '/v2/aggs/grouped/locale/us/market/stocks/2026-11-18?adjusted=false',
    '/stocks/v1/splits?ticker=NVDA',
    '/stocks/v1/dividends?limit=3',
    `/v2/aggs/ticker/TSLA/range/1/day/2020-01-01/${END}`,
  ])('%s answers as on SQLite', async (path) => {
    const [a, b] = await Promise.all([body(onPostgres.url, path), body(onSqlite.url, path)]);
    expect(a).toEqual(b);
    expect(a.status === 200 || a.status === 404).toBe(true);
  });

  it('and as readBars on the PostgreSQL store', async () => {
    const { body: b } = await body(onPostgres.url, `/v2/aggs/ticker/NVDA/range/1/day/${START}/${END}`);
    const bars = await readBars('NVDA', { store: storeUrl, start: START, end: END, now });
    expect(bars.length).toBeGreaterThan(600);
    expect(b['results']).toEqual(bars.map((x) => ({ v: x.volume, o: x.open, c: x.close, h: x.high, l: x.low, t: x.time, n: x.transactions })));
  });
});
