// Splits and dividends answered from the stored corporate actions (fetched by a real run from the
// REST stand-in), judged against the fixture the stand-in served, through the official client.
import { restClient } from '@massive.com/client-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorporateActions } from '../../../src/corporate-actions.js';
import { preload } from '../../../src/index.js';
import { ACTION_TICKERS, corporateActionsFixture } from '../../fixtures/actions.js';
import { dividendToWire, splitToWire, startRestServer, type RestServer } from '../../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../../fixtures/s3-server.js';
import { closeAll, serveStore, type ServedStore } from '../../fixtures/serve-app.js';
import { END, startWorld, type World } from '../../e2e/helpers.js';

const KEY = 'rest-key-0123456789';
const now = new Date('2026-11-21T18:00:00Z');
let w: World;
let rest: RestServer;
let serve: ServedStore;
const fixture = corporateActionsFixture();

beforeAll(async () => {
  w = await startWorld();
  rest = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture(), pageSize: 7 });
  const cacheDir = w.cacheDir('reference');
  const base = { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now, start: '2026-11-01' };
  await preload([...ACTION_TICKERS, 'MSFT'], { ...base, apiKey: KEY, apiEndpoint: rest.url });
  await preload(['GOOG'], base);
  serve = await serveStore({ store: undefined, cacheDir }, now);
}, 240_000);
afterAll(() => closeAll(serve, rest, w));

/** The provider's row without the fields it has no value for (they are left out, not null). */
const present = (r: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
const all = (kind: keyof CorporateActions) => [...fixture.values()].flatMap((a) => (kind === 'splits' ? a.splits.map(splitToWire) : a.dividends.map(dividendToWire))).map(present);
const by = (...keys: Array<[string, 1 | -1]>) => (a: Record<string, unknown>, b: Record<string, unknown>): number => {
  for (const [k, dir] of [...keys, ['ticker', 1], ['id', 1]] as Array<[string, 1 | -1]>) {
    const x = String(a[k]);
    const y = String(b[k]);
    if (x !== y) return (x < y ? -1 : 1) * dir;
  }
  return 0;
};
const client = () => restClient(KEY, serve.url);

describe('/stocks/v1/splits', () => {
  it("one ticker's splits as stored, newest first (the provider's default sort), duplicates and all", async () => {
    const answer = await client().getStocksV1Splits({ ticker: 'TSLA' });
    const expected = all('splits').filter((s) => s['ticker'] === 'TSLA').sort(by(['execution_date', -1]));
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(answer).toMatchObject({ status: 'OK' });
    expect(typeof answer.request_id).toBe('string');
    expect(answer.results).toEqual(expected);
  });

  it('every stored ticker without a filter, with the date filters, sort, and paging by next_url', async () => {
    const expected = all('splits').filter((s) => String(s['execution_date']) >= '2020-01-01').sort(by(['execution_date', 1]));
    const first = await client().getStocksV1Splits({ executionDateGte: '2020-01-01', sort: 'execution_date.asc', limit: 2 });
    expect(first.results).toEqual(expected.slice(0, 2));
    expect(first.next_url?.startsWith(`${serve.url}/stocks/v1/splits?cursor=`)).toBe(true);
    const paged = await restClient(KEY, serve.url, { pagination: true }).getStocksV1Splits({ executionDateGte: '2020-01-01', sort: 'execution_date.asc', limit: 2 });
    // The client puts each later page first: compare as sets.
    expect([...(paged.results as unknown as Array<Record<string, unknown>>)].sort(by(['execution_date', 1]))).toEqual(expected);
    const some = await client().getStocksV1Splits({ tickerAnyOf: 'NVDA,ZW', executionDateLt: '2024-01-01', adjustmentType: 'forward_split' as never });
    expect(some.results).toEqual(all('splits').filter((s) => ['NVDA', 'ZW'].includes(String(s['ticker'])) && String(s['execution_date']) < '2024-01-01' && s['adjustment_type'] === 'forward_split').sort(by(['execution_date', -1])));
  });

  it('a ticker whose actions were never fetched: 404 naming the actions command, not an empty list', async () => {
    const r = await fetch(`${serve.url}/stocks/v1/splits?ticker=GOOG`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain('preload-market-data actions GOOG');
    // MSFT's were fetched and it has none: an empty list is the truth there.
    expect((await client().getStocksV1Splits({ ticker: 'MSFT' })).results).toEqual([]);
  });

  it.each([
    ['/stocks/v1/splits?limit=0', 'limit'],
    ['/stocks/v1/splits?limit=5001', 'limit'],
    ['/stocks/v1/splits?sort=price.asc', 'sort'],
    ['/stocks/v1/splits?execution_date.gte=yesterday', 'execution_date.gte'],
    ['/stocks/v1/splits?ticker=..%2Fetc', 'ticker'],
    ['/stocks/v1/dividends?frequency=often', 'frequency'],
    ['/v3/reference/splits?order=up', 'order'],
    ['/v3/reference/dividends?limit=1001', 'limit'],
    ['/stocks/v1/splits?cursor=bm9wZQ', 'cursor'],
  ])('bad input %s: 400 naming %s', async (path, word) => {
    const r = await fetch(`${serve.url}${path}`);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { status: string; error: string };
    expect(body.status).toBe('ERROR');
    expect(body.error).toContain(word);
  });
});

describe('/stocks/v1/dividends', () => {
  it("one ticker's dividends, with the ex-date filters and sort", async () => {
    const answer = await client().getStocksV1Dividends({ ticker: 'AAPL', exDividendDateGte: '2023-01-01', exDividendDateLte: '2024-12-31', sort: 'ex_dividend_date.asc' });
    const expected = all('dividends').filter((d) => d['ticker'] === 'AAPL' && String(d['ex_dividend_date']) >= '2023-01-01' && String(d['ex_dividend_date']) <= '2024-12-31').sort(by(['ex_dividend_date', 1]));
    expect(expected.length).toBe(8);
    expect(answer.results).toEqual(expected);
    // .gt and .lt leave the bound's own ex-date out (2023-02-10 and 2024-11-08 are AAPL ex-dates).
    const strict = await client().getStocksV1Dividends({ ticker: 'AAPL', exDividendDateGt: '2023-02-10', exDividendDateLt: '2024-11-08', sort: 'ex_dividend_date.asc' });
    expect(strict.results?.map((d) => d.ex_dividend_date)).toEqual(expected.slice(1, -1).map((d) => d['ex_dividend_date']));
  });

  it('every stored ticker, the default sort ticker.asc, paged', async () => {
    const paged = await restClient(KEY, serve.url, { pagination: true }).getStocksV1Dividends({ limit: 10 });
    expect([...(paged.results as unknown as Array<Record<string, unknown>>)].sort(by(['ticker', 1], ['ex_dividend_date', 1]))).toEqual(all('dividends').sort(by(['ticker', 1], ['ex_dividend_date', 1])));
  });
});

describe('the older /v3/reference endpoints', () => {
  it('splits and dividends in their v3 fields', async () => {
    const splits = await client().listStockSplits({ ticker: 'NVDA', order: 'asc' as never });
    expect(splits.results).toEqual(fixture.get('NVDA')?.splits.map((s) => ({ execution_date: s.executionDate, id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: 'NVDA' })));
    const dividends = await client().listDividends({ ticker: 'AAPL', limit: 5 });
    const aapl = [...(fixture.get('AAPL')?.dividends ?? [])].sort((a, b) => (a.exDividendDate < b.exDividendDate ? 1 : -1));
    expect(dividends.results?.map((d) => [d.ex_dividend_date, d.cash_amount, d.dividend_type])).toEqual(aapl.slice(0, 5).map((d) => [d.exDividendDate, d.cashAmount, 'CD']));
    expect(dividends.next_url).toContain('/v3/reference/dividends?cursor=');
  });
});
