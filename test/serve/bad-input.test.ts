// The real server (createServer with its default routes) against the bad input the issue lists,
// beyond the cases of test/serve/api/*.test.ts: bad dates, `from` after `to`, unknown timespans,
// huge limits and multipliers, odd tickers, unknown routes and methods, over plain fetch and the
// provider's official JS client. Each is the provider's error shape with the status the server
// documents (docs/serve.md, "Errors"), never a 500; the server's own /metrics count no 500, and it
// goes on answering what readBars reads from the store.
import { restClient } from '@massive.com/client-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, preload, readBars, type MarketDataServer } from '../../src/index.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { closeAll, serveStore, type ServedStore } from '../fixtures/serve-app.js';
import { END, startWorld, type World } from '../e2e/helpers.js';

const now = new Date('2026-11-21T18:00:00Z');
const START = '2026-11-02';
const TOKEN = 'bad-input-known-token-93e1';
let w: World;
let serve: ServedStore;
let cacheDir: string;

beforeAll(async () => {
  w = await startWorld();
  cacheDir = w.cacheDir('bad-input');
  await preload(['TSLA'], { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, start: START, end: END, now });
  serve = await serveStore({ store: undefined, cacheDir }, now);
}, 120_000);
afterAll(() => closeAll(serve, w));

interface Body {
  status?: string;
  request_id?: string;
  error?: string;
  results?: Array<Record<string, number>>;
}

async function get(path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const r = await fetch(`${serve.url}${path}`, init);
  return { status: r.status, text: await r.text() };
}

/** The provider's error shape, exactly: three keys, a 32-hex request id, a short message without internals. */
function expectErrorShape(text: string, status: number): Body {
  const body = JSON.parse(text) as Body;
  expect(Object.keys(body).sort()).toEqual(['error', 'request_id', 'status']);
  expect(body.status).toBe(status === 404 ? 'NOT_FOUND' : 'ERROR');
  expect(body.request_id).toMatch(/^[0-9a-f]{32}$/);
  expect((body.error ?? '').length).toBeLessThan(300);
  expect(body.error).not.toMatch(/ at |\.ts:|\.js:|node_modules|SQLITE|TypeError/);
  return body;
}

const R = '/v2/aggs/ticker/TSLA/range';
const W = '2026-11-02/2026-11-20';

describe('bad input, through the real server', () => {
  it.each([
    // Bad dates and timestamps (seconds, nanoseconds, negative, ISO with a time).
    [`${R}/1/day/99999999999999999999/2026-11-20`, 400, 'from'],
    [`${R}/1/day/-1704067200000/2026-11-20`, 400, 'from'],
    [`${R}/1/day/1704067200000000000/2026-11-20`, 400, 'from'],
    [`${R}/1/day/1704067200/2026-11-20`, 400, 'from'],
    [`${R}/1/day/2026-11-02T00:00:00Z/2026-11-20`, 400, 'from'],
    [`${R}/1/day/2026-11-02/2026-11-31`, 400, 'to'],
    ['/v1/open-close/TSLA/99999-01-01', 400, 'date'],
    ['/v1/open-close/TSLA/2026-02-29', 400, 'date'],
    ['/v2/aggs/grouped/locale/us/market/stocks/2026-11-18T00:00', 400, 'date'],
    ['/stocks/v1/dividends?ex_dividend_date=2024-02-30', 400, 'ex_dividend_date'],
    ['/v3/reference/splits?execution_date.lt=2024-13-01', 400, 'execution_date.lt'],
    // From after to, as dates and as timestamps.
    [`${R}/1/day/2026-11-20/2026-11-02`, 400, 'after'],
    [`${R}/1/day/1763683200000/1762041600000`, 400, 'after'],
    // Unknown timespans.
    [`${R}/1/DAY/${W}`, 400, 'timespan'],
    [`${R}/1/days/${W}`, 400, 'timespan'],
    [`${R}/1/second/${W}`, 400, 'timespan'],
    // Huge or odd limits and multipliers.
    [`${R}/1/day/${W}?limit=99999999999999999999`, 400, 'limit'],
    [`${R}/1/day/${W}?limit=-5`, 400, 'limit'],
    [`${R}/1/day/${W}?limit=1e3`, 400, 'limit'],
    [`${R}/1/day/${W}?limit=abc`, 400, 'limit'],
    [`${R}/1/day/${W}?limit=10&limit=0`, 400, 'limit'],
    ['/stocks/v1/splits?limit=99999999999999999999', 400, 'limit'],
    ['/v3/reference/dividends?limit=-1', 400, 'limit'],
    [`${R}/99999999999999999999999/day/${W}`, 400, 'multiplier'],
    [`${R}/1.5/day/${W}`, 400, 'multiplier'],
    [`${R}/1e2/day/${W}`, 400, 'multiplier'],
    [`${R}/5256001/minute/${W}`, 400, 'multiplier'],
    [`${R}/11/year/${W}`, 400, 'multiplier'],
    [`${R}/1/day/${W}?adjusted=1`, 400, 'adjusted'],
    [`${R}/1/day/${W}?sort=asc%ZZ`, 400, 'sort'],
    // Odd tickers: never a path, never SQL.
    ['/v2/aggs/ticker/%C3%A9/prev', 400, 'ticker'],
    ['/v2/aggs/ticker/%22TSLA%22/prev', 400, 'ticker'],
    ['/v2/aggs/ticker/TS%00LA/prev', 400, 'ticker'],
    ["/v2/aggs/ticker/TSLA'%3B%20DROP%20TABLE%20bars/prev", 400, 'ticker'],
    ['/v2/aggs/ticker/.hidden/prev', 400, 'ticker'],
    ['/v2/aggs/ticker/-TSLA/prev', 400, 'ticker'],
    ['/v2/aggs/ticker//prev', 400, 'ticker'],
    ['/v2/aggs/ticker/%2e%2e%2f%2e%2e%2fetc%2fpasswd/prev', 400, 'ticker'],
    [`/v2/aggs/ticker/${'A'.repeat(41)}/prev`, 400, 'ticker'],
    ['/v1/open-close/C%3AEUR%2FUSD/2026-11-18', 400, 'ticker'],
    ['/stocks/v1/splits?ticker=%00', 400, 'ticker'],
    // Past the URL limit (2,048 bytes): 414 before any answer sees it, path or query.
    [`/v2/aggs/ticker/${'A'.repeat(3000)}/prev`, 414, 'longer than 2048 bytes'],
    [`${R}/1/day/${W}?sort=${'x'.repeat(3000)}`, 414, 'longer than 2048 bytes'],
    // Unknown routes.
    ['/', 404, 'No such endpoint'],
    ['/v2/aggs/ticker/TSLA', 404, 'No such endpoint'],
    [`${R}/1/day/2026-11-02`, 404, 'No such endpoint'],
    [`${R}/1/day/${W}/extra`, 404, 'No such endpoint'],
    ['/v3/trades/TSLA', 404, 'No such endpoint'],
    ['/v2/snapshot/locale/us/markets/stocks/tickers', 404, 'No such endpoint'],
    ['/v1/open-close/crypto/BTC/USD/2026-11-18', 404, 'No such endpoint'],
    ['/v2/aggs/grouped/locale/us/market/options/2026-11-18', 404, 'No such endpoint'],
    ['/V2/AGGS/TICKER/TSLA/PREV', 404, 'No such endpoint'],
  ] as const)('%s: %i naming %s', async (path, status, word) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    const body = expectErrorShape(r.text, status);
    expect(body.error).toContain(word);
  });

  it('methods other than GET and HEAD are 404s in the error shape', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await get(`/v2/aggs/ticker/TSLA/prev`, { method, ...(method === 'POST' || method === 'PUT' ? { body: '{"x":1}', headers: { 'content-type': 'application/json' } } : {}) });
      expect(r.status, method).toBe(404);
      expect(expectErrorShape(r.text, 404).error).toContain(`No such endpoint: ${method} /v2/aggs/ticker/TSLA/prev`);
    }
    // HEAD is GET's answer without its body (fastify's HEAD routes).
    const head = await get('/v2/aggs/ticker/TSLA/prev?adjusted=false', { method: 'HEAD' });
    expect(head).toEqual({ status: 200, text: '' });
    expect((await get('/v2/aggs/ticker/TSLA/prev?adjusted=false')).status).toBe(200);
    expect((await get('/v9/nothing', { method: 'HEAD' })).status).toBe(404);
  });

  it('the official client surfaces each as its HTTP status with the body in the error shape', async () => {
    const client = restClient('any-key', serve.url);
    const failed = async (call: () => Promise<unknown>): Promise<{ status: number; data: string }> => {
      try {
        await call();
      } catch (e) {
        const response = (e as { response?: { status: number; data: unknown } }).response;
        if (response !== undefined) return { status: response.status, data: JSON.stringify(response.data) };
        throw e;
      }
      throw new Error('expected the request to fail');
    };
    // Each a thunk: called one at a time, so that none is left unawaited when one fails.
    const cases: Array<[() => Promise<unknown>, number, string]> = [
      [() => client.getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'fortnight', from: START, to: END } as never), 400, 'timespan'],
      [() => client.getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: END, to: START } as never), 400, 'after'],
      [() => client.getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: '2026-13-01', to: END } as never), 400, 'from'],
      [() => client.getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: START, to: END, limit: 10_000_000 } as never), 400, 'limit'],
      [() => client.getStocksAggregates({ stocksTicker: '../../etc', multiplier: 1, timespan: 'day', from: START, to: END } as never), 400, 'ticker'],
      [() => client.getStocksOpenClose({ stocksTicker: 'TSLA', date: 'yesterday' }), 400, 'date'],
      [() => client.getGroupedStocksAggregates({ date: '2026-02-30' }), 400, 'date'],
      [() => client.getStocksV1Splits({ limit: 1_000_000 }), 400, 'limit'],
      // Endpoints the client has and the server does not answer.
      [() => client.getStocksTrades({ stockTicker: 'TSLA' }), 404, 'No such endpoint'],
      [() => client.getStocksSnapshotTicker({ stocksTicker: 'TSLA' }), 404, 'No such endpoint'],
    ];
    for (const [call, status, word] of cases) {
      const r = await failed(call);
      expect(r.status).toBe(status);
      expect(expectErrorShape(r.data, status).error).toContain(word);
    }
  });

  it('after all of it: no 500 counted, and the same server answers what readBars reads', async () => {
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    expect(metrics).toContain('preload_market_data_serve_requests_total{');
    expect(metrics).not.toMatch(/requests_total\{[^}]*status="5\d\d"\}/);
    expect((await get('/healthz')).status).toBe(200);
    const r = await get(`${R}/1/day/${START}/${END}?adjusted=false`);
    expect(r.status).toBe(200);
    const expected = await readBars('TSLA', { cacheDir, adjust: 'none', start: START, end: END, now });
    expect(expected.length).toBeGreaterThan(10);
    expect((JSON.parse(r.text) as Body).results?.map((b) => b['c'])).toEqual(expected.map((b) => b.close));
  });
});

describe('with a token', () => {
  let server: MarketDataServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('checks the token before the route: an unknown route is a 401 without it, a 404 with it', async () => {
    server = await createServer({ cacheDir, port: 0, token: TOKEN }, {});
    const { url } = await server.listen();
    const without = await fetch(`${url}/v3/trades/TSLA`);
    expect(without.status).toBe(401);
    expectErrorShape(await without.text(), 401);
    const withKey = await fetch(`${url}/v3/trades/TSLA?apiKey=${TOKEN}`);
    expect(withKey.status).toBe(404);
    const body = expectErrorShape(await withKey.text(), 404);
    // The key is never echoed back.
    expect(JSON.stringify(body)).not.toContain(TOKEN);
    const bad = await fetch(`${url}/v2/aggs/ticker/TSLA/range/1/fortnight/${W}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    expect(expectErrorShape(await bad.text(), 400).error).toContain('timespan');
  });
});
