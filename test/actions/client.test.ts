import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchCorporateActions, redactUrl, retryAfterMs, type FetchActionsOptions } from '../../src/actions/client.js';
import type { CorporateActions, Split } from '../../src/corporate-actions.js';
import { corporateActions } from '../../src/read/actions.js';
import { ActionsError, PreloadError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options.js';
import { ACTION_TICKERS, corporateActionsFixture } from '../fixtures/actions.js';
import { splitToWire, startRestServer, type RestServer, type RestServerOptions } from '../fixtures/rest-server.js';

const KEY = 'k3y_Sup3r+Secret/42';

let servers: RestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(opts: Partial<RestServerOptions> = {}): Promise<RestServer> {
  const s = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture(), ...opts });
  servers.push(s);
  return s;
}

/** Fast retries unless a test says otherwise; the rest as resolved at the door. */
const read = (s: RestServer, o: Partial<FetchActionsOptions> = {}) =>
  fetchCorporateActions({ ...resolveOptions({ apiEndpoint: s.url, retryDelayMs: 1 }, {}), apiKey: KEY, tickers: [...ACTION_TICKERS], ...o });

const failure = async (p: Promise<unknown>): Promise<PreloadError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PreloadError);
  return error as PreloadError;
};

/** Everything an error could show: message, stack, fields and the whole cause chain. */
const everything = (e: unknown): string => inspect(e, { depth: 10, showHidden: true });

describe('fetchCorporateActions', () => {
  it('reads every page of splits and dividends, with the Bearer key on every request', async () => {
    const s = await serve({ pageSize: 3 });
    const got = await read(s, { tickers: [...ACTION_TICKERS, 'MSFT'] });
    const want = corporateActionsFixture();
    for (const t of ACTION_TICKERS) expect(got.get(t)).toEqual(want.get(t));
    expect(got.get('MSFT')).toEqual({ splits: [], dividends: [] });
    expect([...got.keys()].sort()).toEqual([...ACTION_TICKERS, 'MSFT'].sort());

    // 8 split rows (one a duplicate) and 29 dividends, 3 a page.
    const rows = [...want.values()];
    expect(rows.flatMap((a) => a.splits)).toHaveLength(8);
    expect(rows.flatMap((a) => a.dividends)).toHaveLength(29);
    const pages = (path: string) => s.requests.filter((r) => r.path === path);
    expect(pages('/stocks/v1/splits')).toHaveLength(3);
    expect(pages('/stocks/v1/dividends')).toHaveLength(10);
    expect(s.requests.every((r) => r.auth === `Bearer ${KEY}`)).toBe(true);
    const [first, second] = pages('/stocks/v1/splits');
    expect(first?.query).toEqual({ 'ticker.any_of': [...ACTION_TICKERS, 'MSFT'].join(','), limit: '5000' });
    // Later pages are next_url as given: a cursor, no key.
    expect(Object.keys(second?.query ?? {})).toEqual(['cursor']);
  });

  it('asks for at most 100 tickers a request and returns every ticker asked for', async () => {
    const s = await serve();
    const tickers = [...Array.from({ length: 248 }, (_, i) => `T${String(i).padStart(3, '0')}`), 'TSLA', 'AAPL', 'TSLA'];
    const got = await read(s, { tickers });
    expect(got.size).toBe(250);
    expect(got.get('T017')).toEqual({ splits: [], dividends: [] });
    expect(got.get('TSLA')?.splits.map((x) => x.executionDate)).toEqual(['2020-08-31', '2022-08-25', '2022-08-25']);
    const asked = s.requests.filter((r) => r.path === '/stocks/v1/splits').map((r) => (r.query['ticker.any_of'] ?? '').split(','));
    expect(asked.map((a) => a.length)).toEqual([100, 100, 50]);
    expect(new Set(asked.flat())).toEqual(new Set(tickers));
  });

  it.each([
    { name: 'a wrong key (401)', key: 'wrong', fault: undefined, status: 401, said: 'Unknown API Key' },
    { name: 'a plan without access (403)', key: KEY, fault: { status: 403, body: { status: 'NOT_AUTHORIZED', message: 'You are not entitled to this data.' } }, status: 403, said: 'You are not entitled to this data.' },
  ])('refuses $name in one line, without retrying', async ({ key, fault, status, said }) => {
    const s = await serve();
    if (fault) s.fault(fault);
    const e = await failure(read(s, { apiKey: key }));
    expect(e.code).toBe('ERR_CONFIGURATION');
    expect(e.message).toBe(`The REST API refused the key in MASSIVE_API_KEY (HTTP ${status}: ${said})`);
    expect(s.requests).toHaveLength(1);
  });

  it.each([
    { name: 'in seconds', header: () => '1', atLeast: 900 },
    // An HTTP date has whole seconds: 2 s ahead is 1-2 s away.
    { name: 'as an HTTP date', header: () => new Date(Date.now() + 2000).toUTCString(), atLeast: 900 },
  ])('waits out a 429 with Retry-After $name', async ({ header, atLeast }) => {
    const s = await serve();
    s.fault({ status: 429, body: { status: 'ERROR', error: 'too many requests' }, headers: { 'retry-after': header() } });
    // No backoff of its own: any wait seen is the server's Retry-After.
    const got = await read(s, { retryDelayMs: 0 });
    expect(got.get('TSLA')?.splits).toHaveLength(3);
    const [a, b] = s.requests;
    expect(b && a ? b.at - a.at : 0).toBeGreaterThanOrEqual(atLeast);
    expect(b?.query).toEqual(a?.query);
  });

  it('fails at once when Retry-After asks for more than maxRetryAfterMs', async () => {
    const s = await serve();
    s.fault({ status: 429, headers: { 'retry-after': '3600' } });
    const e = await failure(read(s, { maxRetryAfterMs: 5000 }));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.message).toMatch(/asks to wait 3600 s \(Retry-After\), more than maxRetryAfterMs \(5000 ms\)/);
    expect(s.requests).toHaveLength(1);
  });

  it.each([
    { name: 'a 500', faults: [{ status: 500 }] as const },
    { name: 'two 503s', faults: [{ status: 503 }, { status: 503 }] as const },
    { name: 'a dropped connection', faults: ['reset'] as const },
    { name: 'a page with no answer within the timeout', faults: ['stall'] as const },
  ])('retries $name and reads the page that follows', async ({ faults }) => {
    const s = await serve();
    s.fault(...faults);
    const got = await read(s, { timeoutMs: 300 });
    expect(got).toEqual(corporateActionsFixture());
    const splits = s.requests.filter((r) => r.path === '/stocks/v1/splits');
    expect(splits).toHaveLength(faults.length + 1);
  });

  it('gives up on a page still failing after its retries', async () => {
    const s = await serve();
    s.fault(...Array.from({ length: 4 }, () => ({ status: 503 })));
    const e = await failure(read(s, { retries: 3 }));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.code).toBe('ERR_ACTIONS');
    expect(e.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/stocks\/v1\/splits\?ticker\.any_of=.* failed after 4 attempts: HTTP 503$/);
    expect(s.requests).toHaveLength(4);
  });

  it.each([
    { name: 'a body that is not JSON', fault: 'not-json' as const, message: /with a body that is not JSON: <html><body>502 Bad Gateway/ },
    { name: 'an envelope without results', fault: { status: 200, body: { status: 'OK', request_id: 'r' } }, message: /without a `results` array/ },
    { name: 'another 4xx', fault: { status: 400, body: { status: 'ERROR', error: 'bad parameter' } }, message: /with HTTP 400: \{"status":"ERROR","error":"bad parameter"\}/ },
  ])('rejects $name as ERR_ACTIONS, not retried', async ({ fault, message }) => {
    const s = await serve();
    s.fault(fault);
    const e = await failure(read(s));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.message).toMatch(message);
    expect(s.requests).toHaveLength(1);
  });

  const tsla = corporateActionsFixture().get('TSLA') as CorporateActions;
  const goodSplit = splitToWire(tsla.splits[0] as Split);
  it.each([
    { name: 'split_to 0', row: { ...goodSplit, split_to: 0 }, field: 'split_to', got: '`0` (number)' },
    { name: 'split_from negative', row: { ...goodSplit, split_from: -5 }, field: 'split_from', got: '`-5` (number)' },
    { name: 'split_from as a string', row: { ...goodSplit, split_from: '5' }, field: 'split_from', got: '`"5"` (string)' },
    { name: 'a date that is no day', row: { ...goodSplit, execution_date: '2020-02-30' }, field: 'execution_date', got: '`"2020-02-30"` (string)' },
  ])('rejects a split with $name', async ({ row, field, got }) => {
    const s = await serve();
    s.fault({ status: 200, body: { results: [goodSplit, row], status: 'OK', request_id: 'r' } });
    const e = await failure(read(s));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.message).toContain(`The REST API sent a split row for TSLA that is not valid: \`${field}\``);
    expect(e.message).toContain(`got ${got}`);
  });

  it('rejects a dividend with a negative cash amount', async () => {
    const s = await serve();
    const bad = { ticker: 'AAPL', ex_dividend_date: '2024-02-09', cash_amount: -0.24, id: 'x' };
    // The splits page passes; the first dividends page is the bad one.
    s.fault('pass', { status: 200, body: { results: [bad], status: 'OK', request_id: 'r' } });
    const e = await failure(read(s));
    expect(e.message).toMatch(/dividend row for AAPL that is not valid: `cash_amount`.*got `-0.24` \(number\)/);
  });

  it('never shows the key, even where next_url carries apiKey=', async () => {
    const s = await serve({ pageSize: 2, nextUrlParams: { apiKey: KEY } });
    // Page 1 passes; page 2 (next_url, with the key in it) fails in four ways, one per run.
    const runs: Array<Parameters<RestServer['fault']>> = [
      ['pass', 'not-json'],
      ['pass', { status: 400, body: { error: `bad cursor for apiKey=${KEY}` } }],
      ['pass', 'reset', 'reset'],
      ['pass', { status: 200, body: { results: [{ ticker: KEY }], status: 'OK' } }],
    ];
    for (const faults of runs) {
      s.fault(...faults);
      const e = await failure(read(s, { retries: 1 }));
      expect(e).toBeInstanceOf(ActionsError);
      expect(everything(e)).not.toContain(KEY);
      expect(everything(e)).not.toContain(encodeURIComponent(KEY));
      expect(`${(e as ActionsError).url}`).toMatch(/apiKey=\*\*\*/);
    }
    // The key did go out with those pages, as given by next_url, and in the header.
    const second = s.requests[1];
    expect(second?.query['apiKey']).toBe(KEY);
    expect(second?.auth).toBe(`Bearer ${KEY}`);
  });

  it('does not follow a next_url to another origin', async () => {
    const s = await serve();
    s.fault({ status: 200, body: { results: [], status: 'OK', next_url: 'http://localhost:9/stocks/v1/splits?cursor=abc' } });
    const e = await failure(read(s));
    expect(e.message).toMatch(/next_url http:\/\/localhost:9\/stocks\/v1\/splits\?cursor=abc is not on http:\/\/127\.0\.0\.1:\d+: not sending the key there/);
    expect(s.requests).toHaveLength(1);
  });

  it('aborts a request in flight, a wait between attempts, and never starts when already aborted', async () => {
    const s = await serve();
    s.fault('stall');
    const inFlight = new AbortController();
    setTimeout(() => inFlight.abort(), 100);
    const t0 = performance.now();
    expect((await failure(read(s, { signal: inFlight.signal }))).code).toBe('ERR_ABORTED');
    expect(performance.now() - t0).toBeLessThan(5000);

    s.fault({ status: 429, headers: { 'retry-after': '60' } });
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 100);
    expect((await failure(read(s, { signal: waiting.signal }))).code).toBe('ERR_ABORTED');
    expect(s.requests).toHaveLength(2);

    expect((await failure(read(s, { signal: AbortSignal.abort() }))).code).toBe('ERR_ABORTED');
    expect(s.requests).toHaveLength(2);
  });

  // Validated once, at the public door (src/options.ts): the client takes resolved options.
  it('has its options validated at the door, never echoing the key', async () => {
    const e = await failure(corporateActions('TSLA', { apiKey: '' }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toBe('Expected `apiKey` to be a non-empty string, got (hidden)');
    const r = await failure(corporateActions('TSLA', { apiKey: KEY, retries: -1 }));
    expect(r.message).toBe('Expected `retries` to be an integer from 0 to 20, got `-1` (number)');
    expect(everything(r)).not.toContain(KEY);
  });

  it('asks nothing for no tickers', async () => {
    const s = await serve();
    expect((await read(s, { tickers: [] })).size).toBe(0);
    expect(s.requests).toHaveLength(0);
  });
});

// The answers as the provider sends them. Bodies are written by us, as raw JSON text, from the fields
// and the example shapes of its OpenAPI spec (shipped in its JS client as `src/openapi.json`): `id` a
// string, `split_from`/`split_to` doubles (`1.0`), `request_id` the integer 1 in the v1 examples and a
// hex string in the v3 ones, `adjustment_type` forward_split / reverse_split / stock_dividend, a
// cumulative `historical_adjustment_factor`; and the older /v3/reference rows, which lack the last two.
describe('the documented answers, replayed through the client', () => {
  const SPLIT_ID = 'E3b4f6a8c0d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8';
  const DIVIDEND_ID = 'E7c9e1a3b5d7f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829';
  const v1Splits = `{"request_id":1,"results":[
    {"adjustment_type":"forward_split","execution_date":"2005-02-28","historical_adjustment_factor":0.017857,"id":"${SPLIT_ID}","split_from":1.0,"split_to":2.0,"ticker":"AAPL"},
    {"adjustment_type":"stock_dividend","execution_date":"2019-03-06","historical_adjustment_factor":0.952381,"id":"E1","split_from":1.0,"split_to":1.05,"ticker":"STKD"}
  ],"status":"OK"}`;
  const v1Dividends = `{"request_id":1,"results":[
    {"cash_amount":0.26,"currency":"USD","declaration_date":"2025-07-31","distribution_type":"recurring","ex_dividend_date":"2025-08-11","frequency":4,
     "historical_adjustment_factor":0.997899,"id":"${DIVIDEND_ID}","pay_date":"2025-08-14","record_date":"2025-08-11","split_adjusted_cash_amount":0.26,"ticker":"AAPL"}
  ],"status":"OK"}`;
  const page = (body: string) => ({ status: 200, body });
  const tickers = ['AAPL', 'STKD'];

  it('reads the v1 examples as given: string ids, ratios as doubles, an integer request_id, a stock dividend', async () => {
    const s = await serve();
    s.fault(page(v1Splits), page(v1Dividends));
    const got = await read(s, { tickers });
    expect(got.get('AAPL')).toEqual({
      splits: [{ ticker: 'AAPL', executionDate: '2005-02-28', splitFrom: 1, splitTo: 2, adjustmentType: 'forward_split', historicalAdjustmentFactor: 0.017857, id: SPLIT_ID }],
      dividends: [
        {
          ticker: 'AAPL',
          exDividendDate: '2025-08-11',
          cashAmount: 0.26,
          currency: 'USD',
          distributionType: 'recurring',
          frequency: 4,
          payDate: '2025-08-14',
          recordDate: '2025-08-11',
          declarationDate: '2025-07-31',
          splitAdjustedCashAmount: 0.26,
          historicalAdjustmentFactor: 0.997899,
          id: DIVIDEND_ID,
        },
      ],
    });
    expect(got.get('STKD')).toEqual({
      splits: [{ ticker: 'STKD', executionDate: '2019-03-06', splitFrom: 1, splitTo: 1.05, adjustmentType: 'stock_dividend', historicalAdjustmentFactor: 0.952381, id: 'E1' }],
      dividends: [],
    });
  });

  /** One split row in an envelope, read for its ticker: what the client made of it. */
  const oneSplit = async (row: string, envelope = (results: string) => `{"request_id":1,"results":[${results}],"status":"OK"}`): Promise<Split | undefined> => {
    const s = await serve();
    s.fault(page(envelope(row)), page('{"request_id":2,"results":[],"status":"OK"}'));
    return (await read(s, { tickers: ['X'] })).get('X')?.splits[0];
  };

  it.each<{ name: string; row: string; want: Partial<Split> }>([
    { name: 'a stock dividend given as 100 -> 105', row: '{"adjustment_type":"stock_dividend","execution_date":"2021-06-01","id":"E2","split_from":100.0,"split_to":105.0,"ticker":"X"}', want: { splitFrom: 100, splitTo: 105, adjustmentType: 'stock_dividend' } },
    { name: 'a reverse split with a fractional ratio', row: '{"adjustment_type":"reverse_split","execution_date":"2021-06-01","historical_adjustment_factor":7.5,"id":"E3","split_from":7.5,"split_to":1.0,"ticker":"X"}', want: { splitFrom: 7.5, splitTo: 1, adjustmentType: 'reverse_split', historicalAdjustmentFactor: 7.5 } },
    { name: 'an id as a number (the Python client types it so)', row: '{"adjustment_type":"forward_split","execution_date":"2021-06-01","id":123456789,"split_from":1,"split_to":3,"ticker":"X"}', want: { id: '123456789' } },
    { name: 'no id, a null factor', row: '{"adjustment_type":"forward_split","execution_date":"2021-06-01","historical_adjustment_factor":null,"split_from":1,"split_to":3,"ticker":"X"}', want: { id: '', historicalAdjustmentFactor: null } },
    { name: 'a /v3/reference/splits row (no adjustment_type, no factor): forward', row: '{"execution_date":"2020-08-31","id":"E4","split_from":1.0,"split_to":4.0,"ticker":"X"}', want: { adjustmentType: 'forward_split', historicalAdjustmentFactor: null } },
    { name: 'a /v3/reference/splits row: reverse', row: '{"execution_date":"2020-08-31","id":"E5","split_from":10.0,"split_to":1.0,"ticker":"X"}', want: { adjustmentType: 'reverse_split' } },
    { name: 'an empty adjustment_type, derived from the ratio', row: '{"adjustment_type":"","execution_date":"2020-08-31","split_from":2,"split_to":1,"ticker":"X"}', want: { adjustmentType: 'reverse_split' } },
    { name: 'an adjustment_type beyond the documented three (the list "includes" them)', row: '{"adjustment_type":"bonus_issue","execution_date":"2020-08-31","split_from":10,"split_to":11,"ticker":"X"}', want: { adjustmentType: 'bonus_issue', splitTo: 11 } },
  ])('accepts $name', async ({ row, want }) => {
    expect(await oneSplit(row)).toMatchObject({ ticker: 'X', ...want });
  });

  it.each([
    { name: 'a hex string request_id (the v3 examples)', envelope: (r: string) => `{"request_id":"6a7e466379af0a71039d60cc78e72282","results":[${r}],"status":"OK"}` },
    { name: 'no request_id, no status', envelope: (r: string) => `{"results":[${r}]}` },
    { name: 'a null request_id and next_url', envelope: (r: string) => `{"request_id":null,"next_url":null,"results":[${r}],"status":"OK"}` },
  ])('accepts an envelope with $name', async ({ envelope }) => {
    const got = await oneSplit('{"adjustment_type":"forward_split","execution_date":"2021-06-01","split_from":1,"split_to":2,"ticker":"X"}', envelope);
    expect(got).toMatchObject({ splitFrom: 1, splitTo: 2 });
  });

  it('accepts a /v3/reference/dividends row (dividend_type, no currency or factors): absent fields read as null', async () => {
    const s = await serve();
    const v3 = '{"cash_amount":0.22,"declaration_date":"2021-10-28","dividend_type":"CD","ex_dividend_date":"2021-11-05","frequency":4,"id":77,"pay_date":"2021-11-11","record_date":"2021-11-08","ticker":"X"}';
    s.fault(page('{"request_id":"r","results":[],"status":"OK"}'), page(`{"request_id":"6a7e","results":[${v3}],"status":"OK"}`));
    expect((await read(s, { tickers: ['X'] })).get('X')?.dividends).toEqual([
      {
        ticker: 'X',
        exDividendDate: '2021-11-05',
        cashAmount: 0.22,
        currency: null,
        distributionType: null,
        frequency: 4,
        payDate: '2021-11-11',
        recordDate: '2021-11-08',
        declarationDate: '2021-10-28',
        splitAdjustedCashAmount: null,
        historicalAdjustmentFactor: null,
        id: '77',
      },
    ]);
  });

  const good = '{"adjustment_type":"stock_dividend","execution_date":"2021-06-01","id":"E9","split_from":1.0,"split_to":1.05,"ticker":"X"}';
  const withField = (field: string, value: string | undefined): string => {
    const row = JSON.parse(good) as Record<string, unknown>;
    if (value === undefined) delete row[field];
    else row[field] = JSON.parse(value) as unknown;
    return JSON.stringify(row);
  };
  it.each([
    { name: 'an id that is an object', row: withField('id', '{"x":1}'), says: '`id` expected a string (or a number), got `{"x":1}` (object)' },
    { name: 'split_to as a string', row: withField('split_to', '"1.05"'), says: '`split_to` expected a positive number, got `"1.05"` (string)' },
    { name: 'split_from 0', row: withField('split_from', '0'), says: '`split_from` expected a positive number, got `0` (number)' },
    { name: 'no split_from', row: withField('split_from', undefined), says: '`split_from` expected a positive number, got `undefined` (undefined)' },
    { name: 'adjustment_type as a number', row: withField('adjustment_type', '5'), says: '`adjustment_type` expected a string, got `5` (number)' },
    { name: 'historical_adjustment_factor as a string', row: withField('historical_adjustment_factor', '"0.95"'), says: '`historical_adjustment_factor` expected a number, got `"0.95"` (string)' },
    { name: 'no execution_date', row: withField('execution_date', undefined), says: '`execution_date` expected a YYYY-MM-DD date, got `undefined` (undefined)' },
  ])('rejects a split row with $name: one line, naming the field, the value and the request_id', async ({ row, says }) => {
    const s = await serve();
    s.fault(page(`{"request_id":41,"results":[${row}],"status":"OK"}`));
    const e = await failure(read(s, { tickers: ['X'] }));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.code).toBe('ERR_ACTIONS');
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(/^The REST API sent a split row for X that is not valid: /);
    expect(e.message).toContain(says);
    expect(e.message).toMatch(/\(GET http:\/\/127\.0\.0\.1:\d+\/stocks\/v1\/splits\?ticker\.any_of=X&limit=5000, request_id 41\)$/);
  });

  it('rejects a dividend row without its cash amount', async () => {
    const s = await serve();
    s.fault('pass', page('{"request_id":"r7","results":[{"ticker":"AAPL","ex_dividend_date":"2024-02-09","distribution_type":"recurring","id":"E"}],"status":"OK"}'));
    const e = await failure(read(s));
    expect(e.message).toMatch(/^The REST API sent a dividend row for AAPL that is not valid: `cash_amount` expected a number, 0 or more, got `undefined` \(undefined\) \(GET .*, request_id r7\)$/);
  });

  it.each([
    { name: 'a request_id that is an object', body: '{"request_id":{"id":1},"results":[],"status":"OK"}', says: 'with an answer that is not the documented one (expected `request_id` to be a string or an integer)' },
    { name: 'a request_id that is a fraction', body: '{"request_id":1.5,"results":[],"status":"OK"}', says: 'with an answer that is not the documented one (expected `request_id` to be a string or an integer)' },
    { name: 'a next_url that is a number', body: '{"request_id":1,"results":[],"next_url":7,"status":"OK"}', says: 'with an answer that is not the documented one (expected `next_url` to be a string)' },
    { name: 'results that are an object', body: '{"request_id":1,"results":{"ticker":"X"},"status":"OK"}', says: 'without a `results` array (status OK)' },
    { name: 'an array for an answer', body: '[{"ticker":"X"}]', says: 'without a `results` array' },
  ])('rejects an envelope with $name in one line', async ({ body, says }) => {
    const s = await serve();
    s.fault(page(body));
    const e = await failure(read(s, { tickers: ['X'] }));
    expect(e).toBeInstanceOf(ActionsError);
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(/^The REST API answered GET http:\/\/127\.0\.0\.1:\d+\/stocks\/v1\/splits\?ticker\.any_of=X&limit=5000 /);
    expect(e.message).toContain(says);
    expect(s.requests).toHaveLength(1);
  });

  it('reads the fixture server, which sends request_id as an integer by default and as a string when told', async () => {
    for (const requestId of ['integer', 'string'] as const) {
      const s = await serve({ requestId, pageSize: 4 });
      expect(await read(s)).toEqual(corporateActionsFixture());
    }
  });
});

describe('redactUrl', () => {
  it.each([
    ['https://api.massive.com/stocks/v1/splits?cursor=abc&apiKey=k1', undefined, 'https://api.massive.com/stocks/v1/splits?cursor=abc&apiKey=***'],
    ['https://api.massive.com/x?apiKey=k1&cursor=abc', undefined, 'https://api.massive.com/x?apiKey=***&cursor=abc'],
    ['https://api.massive.com/x?APIKEY=k1#frag', undefined, 'https://api.massive.com/x?APIKEY=***#frag'],
    ['https://api.massive.com/x?cursor=abc', undefined, 'https://api.massive.com/x?cursor=abc'],
    // The key itself, wherever it is, as given and percent-encoded.
    [`https://api.massive.com/x?cursor=${KEY}`, KEY, 'https://api.massive.com/x?cursor=***'],
    [`https://api.massive.com/x?token=${encodeURIComponent(KEY)}`, KEY, 'https://api.massive.com/x?token=***'],
    ['https://api.massive.com/x?q=1', '', 'https://api.massive.com/x?q=1'],
  ])('%s', (url, key, want) => {
    expect(redactUrl(url, key)).toBe(want);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it.each<[string | null, number | undefined]>([
    ['3', 3000],
    [' 0 ', 0],
    ['Tue, 01 Dec 2026 12:00:05 GMT', 5000],
    ['Tue, 01 Dec 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('%s', (header, want) => {
    expect(retryAfterMs(header, now)).toBe(want);
  });
});
