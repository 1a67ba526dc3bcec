// serve's aggregates answers through the provider's official JS client, pointed at the real
// server (createServer with its default routes, test/fixtures/serve-app.ts) over a real SQLite
// store filled by real runs (generated flat files on a real s3rver, corporate actions from the
// REST stand-in). Every answer is judged against `readBars` over the same store, and the raw ones
// against the generator's own bars as well.
import { gzipSync } from 'node:zlib';
import { restClient } from '@massive.com/client-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, readBars, type Bar } from '../../../src/index.js';
import { rangeAnswer } from '../../../src/serve/api/aggs.js';
import { NotStoredError } from '../../../src/serve/api/types.js';
import { corporateActionsFixture } from '../../fixtures/actions.js';
import { CSV_HEADER } from '../../fixtures/generate.js';
import { startRestServer, type RestServer } from '../../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../../fixtures/s3-server.js';
import { closeAll, serveStore, type ServedStore } from '../../fixtures/serve-app.js';
import { readSourceBars } from '../../fixtures/source-bars.js';
import { CRYPTO, END, putObject, startWorld, STOCKS, type World } from '../../e2e/helpers.js';

const KEY = 'rest-key-0123456789';
// The last published day is END: coverage recorded by the runs reaches exactly there.
const now = new Date('2026-11-21T18:00:00Z');
const START = '2021-11-21';
const CRYPTO_START = '2025-06-01';
const MINUTE_DAYS = ['2026-11-18', '2026-11-19'];
const MINUTES = 'us_stocks_sip/minute_aggs_v1';

let w: World;
let rest: RestServer;
let serve: ServedStore;
let cacheDir: string;

/** Minute bars of 04:00-19:59 New York (EST) of one ticker and day: the files' rows, made here. */
function minuteBars(ticker: string, day: string): Bar[] {
  const midnight = Date.parse(`${day}T05:00:00Z`);
  return Array.from({ length: 16 * 60 }, (_, k) => {
    const p = 100 + ((k * 7) % 97) / 4 + (ticker === 'TSLA' ? 0 : 50) + (day === MINUTE_DAYS[1] ? 1 : 0);
    return { time: midnight + (4 * 60 + k) * 60_000, open: p, high: p + 1, low: p - 1, close: p + 0.5, volume: (k % 13) + 1, transactions: k % 5 };
  });
}

const INDICES = 'us_indices/day_aggs_v1';
/** An index day file as the provider's: no volume, no transactions. */
const indexBar = (day: string) => ({ o: 5900.5, c: 5800 + Number(day.slice(8)) * 5.25, h: 5925, l: 5780.5, t: Date.parse(`${day}T05:00:00Z`) });
function indexCsv(day: string): string {
  const b = indexBar(day);
  return `ticker,open,close,high,low,window_start\nI:NDX,20000,20100,20200,19900,${BigInt(b.t) * 1_000_000n}\nI:SPX,${b.o},${b.c},${b.h},${b.l},${BigInt(b.t) * 1_000_000n}\n`;
}

function minuteCsv(day: string): string {
  const rows = ['AAPL', 'TSLA'].flatMap((t) =>
    minuteBars(t, day).map((b) => `${t},${b.volume},${b.open},${b.close},${b.high},${b.low},${BigInt(b.time) * 1_000_000n},${b.transactions ?? ''}`),
  );
  return `${CSV_HEADER}\n${rows.join('\n')}\n`;
}

beforeAll(async () => {
  w = await startWorld();
  rest = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture(), pageSize: 50 });
  for (const day of MINUTE_DAYS) putObject(w, `${MINUTES}/2026/11/${day}.csv.gz`, gzipSync(minuteCsv(day)));
  for (const day of [...MINUTE_DAYS, END]) putObject(w, `${INDICES}/2026/11/${day}.csv.gz`, gzipSync(indexCsv(day)));
  cacheDir = w.cacheDir('serve');
  const base = { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now };
  await preload(['TSLA', 'NVDA', 'MSFT'], { ...base, start: START, apiKey: KEY, apiEndpoint: rest.url });
  // No key: GOOG's actions are never fetched.
  await preload(['GOOG'], { ...base, start: START });
  await preload(['X:BTC-USD'], { ...base, start: CRYPTO_START });
  await preload(['TSLA'], { ...base, start: MINUTE_DAYS[0], end: MINUTE_DAYS[1], interval: '1m' });
  // The listing is the calendar: the index dataset has only the three files put here.
  await preload(['I:SPX'], { ...base, start: '2026-11-12' });
  serve = await serveStore({ store: undefined, cacheDir }, now);
}, 240_000);
afterAll(() => closeAll(serve, rest, w));

const read = (symbol: string, o: { start: string; end: string; adjust?: 'splits' | 'none'; interval?: '1d' | '5m' | '1h' }): Promise<Bar[]> =>
  readBars(symbol, { cacheDir, now, ...o });

/** A bar as the provider names its fields (`n` left out where there are no transactions). */
const wire = (b: Bar): Record<string, number> => ({ v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.time, ...(b.transactions === null ? {} : { n: b.transactions }) });

const client = () => restClient(KEY, serve.url);

/** Midnight New York of a day, by the US rule: EDT from the second Sunday of March to the first Sunday of November (both at 02:00). */
function newYorkMidnight(day: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`);
  const y = Number(day.slice(0, 4));
  const sunday = (month: number, n: number): number => {
    const first = new Date(Date.UTC(y, month, 1)).getUTCDay();
    return Date.UTC(y, month, 1 + ((7 - first) % 7) + 7 * (n - 1));
  };
  const edt = utc > sunday(2, 2) && utc <= sunday(10, 1);
  return utc + (edt ? 4 : 5) * 3_600_000;
}

interface Body {
  status: string;
  request_id: string;
  error?: string;
  next_url?: string;
  results?: Array<Record<string, number | string>>;
  [k: string]: unknown;
}

async function get(path: string): Promise<{ status: number; body: Body }> {
  const r = await fetch(`${serve.url}${path}`);
  return { status: r.status, body: (await r.json()) as Body };
}

/** What the client's axios error carries: the HTTP status and the provider-shaped body. */
async function clientError(p: Promise<unknown>): Promise<{ status: number; data: Body }> {
  try {
    await p;
  } catch (e) {
    const response = (e as { response?: { status: number; data: Body } }).response;
    if (response) return response;
    throw e;
  }
  throw new Error('expected the request to fail');
}

describe('daily aggregates', () => {
  it('split-adjusted by default: every field of every bar is what readBars returns, in the provider envelope', async () => {
    const answer = await client().getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: START, to: END } as never);
    const expected = await read('TSLA', { start: START, end: END });
    expect(expected.length).toBeGreaterThan(1_200);
    expect(answer).toMatchObject({ ticker: 'TSLA', adjusted: true, status: 'OK', resultsCount: expected.length, queryCount: expected.length });
    expect(typeof answer.request_id).toBe('string');
    expect(answer.results).toEqual(expected.map(wire));
    expect(answer.next_url).toBeUndefined();
    // And it is adjusted: the generator's raw bars before the 3-for-1 split are three times higher.
    const raw = readSourceBars(w.ds, STOCKS, 'TSLA', START, END);
    const before = answer.results?.[0];
    expect(before?.c).toBeCloseTo((raw[0]?.close ?? 0) / 3, 6);
  });

  it("adjusted where no split reaches the window (after a ticker's last split, or a ticker without any) is readBars' bars too, oldest or newest first", async () => {
    const lastSplit = (corporateActionsFixture().get('TSLA')?.splits ?? []).map((s) => s.executionDate).sort().at(-1) ?? '';
    expect(lastSplit > START && lastSplit < END).toBe(true);
    for (const [ticker, from] of [['TSLA', lastSplit], ['MSFT', START]] as const) {
      const expected = await read(ticker, { start: from, end: END });
      expect(expected.length).toBeGreaterThan(100);
      const asc = await client().getStocksAggregates({ stocksTicker: ticker, multiplier: 1, timespan: 'day', from, to: END } as never);
      expect(asc).toMatchObject({ ticker, adjusted: true, status: 'OK', resultsCount: expected.length, queryCount: expected.length });
      expect(asc.results).toEqual(expected.map(wire));
      const desc = await client().getStocksAggregates({ stocksTicker: ticker, multiplier: 1, timespan: 'day', from, to: END, sort: 'desc' } as never);
      expect(desc.results).toEqual(expected.map(wire).reverse());
    }
  });

  it('adjusted=false answers the bars as traded: the day files\' own rows', async () => {
    const answer = await client().getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: START, to: END, adjusted: false } as never);
    expect(answer.adjusted).toBe(false);
    expect(answer.results).toEqual((await read('TSLA', { start: START, end: END, adjust: 'none' })).map(wire));
    expect(answer.results).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START, END).map(wire));
  });

  it('pages with a small limit through absolute next_urls, and the client\'s pagination: true gathers every bar', async () => {
    const expected = (await read('NVDA', { start: START, end: END })).map(wire);
    const pages: Body[] = [];
    let url: string | undefined = `${serve.url}/v2/aggs/ticker/NVDA/range/1/day/${START}/${END}?limit=100`;
    while (url !== undefined) {
      const r = await fetch(`${url}&apiKey=${KEY}`);
      expect(r.status).toBe(200);
      const body = (await r.json()) as Body;
      pages.push(body);
      url = body.next_url;
      if (url !== undefined) expect(url.startsWith(`${serve.url}/v2/aggs/ticker/NVDA/range/1/day/`)).toBe(true);
    }
    expect(pages.length).toBe(Math.ceil(expected.length / 100));
    expect(pages.every((p) => (p.results?.length ?? 0) <= 100 && p['resultsCount'] === p.results?.length)).toBe(true);
    expect(pages.flatMap((p) => p.results ?? [])).toEqual(expected);

    const all = await restClient(KEY, serve.url, { pagination: true }).getStocksAggregates({ stocksTicker: 'NVDA', multiplier: 1, timespan: 'day', from: START, to: END, limit: 250 } as never);
    // The client puts each later page before the one it followed: compare in time order.
    expect([...(all.results ?? [])].sort((a, b) => a.t - b.t)).toEqual(expected);
  });

  it('sort=desc pages newest first', async () => {
    const expected = (await read('TSLA', { start: '2026-01-01', end: END })).map(wire).reverse();
    const got: Array<Record<string, number | string>> = [];
    let url: string | undefined = `${serve.url}/v2/aggs/ticker/TSLA/range/1/day/2026-01-01/${END}?sort=desc&limit=40`;
    while (url !== undefined) {
      const body: Body = (await (await fetch(url)).json()) as Body;
      got.push(...(body.results ?? []));
      url = body.next_url;
    }
    expect(got).toEqual(expected);
  });

  it('takes millisecond timestamps for from and to', async () => {
    const bars = await read('TSLA', { start: '2026-10-01', end: END });
    const from = bars[3]?.time ?? 0;
    const to = bars[10]?.time ?? 0;
    const { status, body } = await get(`/v2/aggs/ticker/TSLA/range/1/day/${from}/${to}`);
    expect(status).toBe(200);
    expect(body.results).toEqual(bars.slice(3, 11).map(wire));
  });

  it('answers crypto in the API spelling X:BTCUSD from the flat files\' X:BTC-USD', async () => {
    const answer = await client().getCryptoAggregates({ cryptoTicker: 'X:BTCUSD', multiplier: 1, timespan: 'day', from: CRYPTO_START, to: END } as never);
    const expected = await read('X:BTC-USD', { start: CRYPTO_START, end: END });
    expect(expected.length).toBeGreaterThan(500);
    expect(answer.ticker).toBe('X:BTCUSD');
    expect(answer.results).toEqual(expected.map(wire));
    expect(answer.results).toEqual(readSourceBars(w.ds, CRYPTO, 'X:BTC-USD', CRYPTO_START, END).map(wire));
  });
});

describe('indices', () => {
  it('I:SPX: o, c, h, l, t only (no volume, no transactions, no adjusted), as the provider answers indices', async () => {
    const [first, last] = MINUTE_DAYS as [string, string];
    const answer = await client().getIndicesAggregates({ indicesTicker: 'I:SPX', multiplier: 1, timespan: 'day', from: first, to: last } as never);
    expect(answer).toEqual({ ticker: 'I:SPX', queryCount: 2, resultsCount: 2, results: [indexBar(first), indexBar(last)], status: 'OK', request_id: expect.any(String) as string });
    const prev = await client().getPreviousIndicesAggregates({ indicesTicker: 'I:SPX' });
    expect(prev.results).toEqual([{ T: 'I:SPX', ...indexBar(END) }]);
    const oc = await get(`/v1/open-close/I:SPX/${first}`);
    const b = indexBar(first);
    expect(oc.body).toEqual({ status: 'OK', from: first, symbol: 'I:SPX', open: b.o, high: b.h, low: b.l, close: b.c });
  });
});

describe('longer and shorter bars', () => {
  it('5-minute and 1-hour bars are readBars\' 5m and 1h bars, built from the stored minutes', async () => {
    const [first, last] = MINUTE_DAYS as [string, string];
    for (const [mult, timespan, interval] of [[5, 'minute', '5m'], [1, 'hour', '1h']] as const) {
      const answer = await client().getStocksAggregates({ stocksTicker: 'TSLA', multiplier: mult, timespan, from: first, to: last } as never);
      const expected = await read('TSLA', { start: first, end: last, interval });
      expect(expected.length).toBeGreaterThan(10);
      expect(answer.results).toEqual(expected.map(wire));
      expect(answer.queryCount).toBe(MINUTE_DAYS.length * 16 * 60);
    }
  });

  it('weeks start on Sunday and months on the 1st, New York midnight, each the sum of its days', async () => {
    const days = await read('TSLA', { start: '2026-01-01', end: END });
    const bars = days;
    const group = (keyOf: (day: string) => string) => {
      const out = new Map<string, Bar[]>();
      for (const b of bars) {
        // New York midnight is 04:00Z or 05:00Z: 4 hours back is the same UTC date either way.
        const day = new Date(b.time - 4 * 3_600_000).toISOString().slice(0, 10);
        const k = keyOf(day);
        out.set(k, [...(out.get(k) ?? []), b]);
      }
      return [...out].map(([k, g]) => ({ k, g }));
    };
    const sunday = (day: string): string => {
      const d = new Date(`${day}T00:00:00Z`);
      d.setUTCDate(d.getUTCDate() - d.getUTCDay());
      return d.toISOString().slice(0, 10);
    };
    for (const [timespan, keyOf] of [['week', sunday], ['month', (d: string) => `${d.slice(0, 7)}-01`]] as const) {
      const answer = await client().getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan, from: '2026-01-01', to: END } as never);
      const expected = group(keyOf).map(({ k, g }) => ({
        v: g.reduce((s, b) => s + b.volume, 0),
        o: g[0]?.open,
        c: g.at(-1)?.close,
        h: Math.max(...g.map((b) => b.high)),
        l: Math.min(...g.map((b) => b.low)),
        n: g.reduce((s, b) => s + (b.transactions ?? 0), 0),
        k,
      }));
      const results = answer.results ?? [];
      expect(results.length).toBe(expected.length);
      for (const [i, r] of results.entries()) {
        const e = expected[i];
        expect({ ...r, v: undefined, t: undefined }).toEqual({ v: undefined, o: e?.o, c: e?.c, h: e?.h, l: e?.l, n: e?.n, t: undefined });
        expect(r.v).toBeCloseTo(e?.v ?? 0, 4);
        // t is the bucket's first day at New York midnight.
        const at = new Date(r.t);
        expect(r.t).toBe(newYorkMidnight(e?.k ?? ''));
        if (timespan === 'week') expect(at.getUTCDay()).toBe(0);
        else expect(at.getUTCDate()).toBe(1);
      }
    }
  });
  it("limit counts base bars, as the provider's does: pages hold whole weeks, and together are the unpaged answer", async () => {
    const path = `/v2/aggs/ticker/TSLA/range/1/week/2025-01-01/${END}`;
    const whole = (await get(path)).body;
    const pages: Body[] = [];
    let url: string | undefined = `${serve.url}${path}?limit=12`;
    while (url !== undefined) {
      const body: Body = (await (await fetch(url)).json()) as Body;
      pages.push(body);
      url = body.next_url;
    }
    expect(pages.length).toBeGreaterThan(20);
    for (const p of pages) {
      expect(p['queryCount']).toBeLessThanOrEqual(12);
      expect(p['resultsCount']).toBeGreaterThanOrEqual(2);
    }
    expect(pages.flatMap((p) => p.results ?? [])).toEqual(whole.results);
    expect(pages.reduce((n, p) => n + Number(p['queryCount']), 0)).toBe(whole['queryCount']);
  });
});

describe('prev and open-close', () => {
  it('prev is the last session\'s bar, with its ticker as T', async () => {
    const answer = await client().getPreviousStocksAggregates({ stocksTicker: 'TSLA' });
    const last = (await read('TSLA', { start: '2026-11-01', end: END })).at(-1) as Bar;
    expect(answer).toMatchObject({ ticker: 'TSLA', adjusted: true, status: 'OK', resultsCount: 1, queryCount: 1 });
    expect(answer.results).toEqual([{ T: 'TSLA', ...wire(last) }]);
  });

  it('open-close is the day bar, with preMarket and afterHours only where the minutes are stored', async () => {
    const day = MINUTE_DAYS[0] as string;
    const withMinutes = await client().getStocksOpenClose({ stocksTicker: 'TSLA', date: day });
    const bar = (await read('TSLA', { start: day, end: day }))[0] as Bar;
    const minutes = minuteBars('TSLA', day);
    expect(withMinutes).toEqual({
      status: 'OK', from: day, symbol: 'TSLA', open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume,
      // 04:00 New York is the first minute; 19:59 the last.
      preMarket: minutes[0]?.open, afterHours: minutes.at(-1)?.close,
    });
    const plain = await client().getStocksOpenClose({ stocksTicker: 'TSLA', date: '2026-11-10' });
    expect(plain).not.toHaveProperty('preMarket');
    expect(plain).not.toHaveProperty('afterHours');
    expect(plain.close).toBe((await read('TSLA', { start: '2026-11-10', end: '2026-11-10' }))[0]?.close);
    const none = await get('/v1/open-close/TSLA/2026-11-15'); // a Sunday
    expect(none.status).toBe(404);
  });
});

describe('errors the client surfaces', () => {
  it('a window the store does not hold: 404 naming what is missing and the command that fills it', async () => {
    const { status, data } = await clientError(client().getStocksAggregates({ stocksTicker: 'TSLA', multiplier: 1, timespan: 'day', from: '2020-01-01', to: END } as never));
    expect(status).toBe(404);
    expect(data).toMatchObject({ status: 'NOT_FOUND' });
    expect(typeof data.request_id).toBe('string');
    expect(data.error).toContain(`preload-market-data TSLA --start 2020-01-01 --end ${END}`);
    // A ticker never preloaded is not an empty answer either.
    const unknown = await get(`/v2/aggs/ticker/ZZZQ/range/1/day/2026-11-01/${END}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('preload-market-data ZZZQ');
    // Minutes of a day not preloaded.
    const minutes = await get(`/v2/aggs/ticker/TSLA/range/1/minute/2026-11-17/2026-11-18`);
    expect(minutes.status).toBe(404);
    expect(minutes.body.error).toContain('--interval 1m');
  });

  it("a missing window tells the shell's --fill what to preload: the files' ticker, the stored interval, the days up to the last published one", async () => {
    const ask = (ticker: string, timespan: string, from: string, to: string) =>
      rangeAnswer({ store: serve.store, now: () => now }, { params: { stocksTicker: ticker, multiplier: '5', timespan, from, to }, query: {}, baseUrl: serve.url, requestId: 'r' });
    await expect(ask('X:BTCUSD', 'minute', '2026-11-02', '2026-12-31')).rejects.toMatchObject({
      name: 'NotStoredError',
      status: 404,
      missing: { symbol: 'X:BTC-USD', interval: '1m', start: '2026-11-02', end: END },
    });
    await expect(ask('TSLA', 'day', '2021-01-04', '2021-12-31')).rejects.toBeInstanceOf(NotStoredError);
    await expect(ask('TSLA', 'day', '2021-01-04', '2021-12-31')).rejects.toMatchObject({ missing: { symbol: 'TSLA', interval: '1d', start: '2021-01-04', end: '2021-12-31' } });
  });

  it('adjusted bars without stored corporate actions: an error naming the actions command; adjusted=false answers', async () => {
    const { status, data } = await clientError(client().getStocksAggregates({ stocksTicker: 'GOOG', multiplier: 1, timespan: 'day', from: START, to: END } as never));
    expect(status).toBe(404);
    expect(data.error).toContain('preload-market-data actions GOOG');
    const raw = await client().getStocksAggregates({ stocksTicker: 'GOOG', multiplier: 1, timespan: 'day', from: START, to: END, adjusted: false } as never);
    expect(raw.results).toEqual(readSourceBars(w.ds, STOCKS, 'GOOG', START, END).map(wire));
  });

  it('a window past the last published day answers what is stored, with nothing claimed missing', async () => {
    const { status, body } = await get(`/v2/aggs/ticker/TSLA/range/1/day/2026-11-19/2026-12-31`);
    expect(status).toBe(200);
    expect(body.results).toEqual((await read('TSLA', { start: '2026-11-19', end: END })).map(wire));
  });

  it.each([
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-13-01/2024-12-31', 'from'],
    ['/v2/aggs/ticker/TSLA/range/1/day/yesterday/2024-12-31', 'from'],
    ['/v2/aggs/ticker/TSLA/range/1/day/20240101/2024-12-31', 'from'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/1735689600', 'to'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-30', 'to'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-03-01/2024-01-01', 'after'],
    ['/v2/aggs/ticker/TSLA/range/1/fortnight/2024-01-01/2024-02-01', 'timespan'],
    ['/v2/aggs/ticker/TSLA/range/0/day/2024-01-01/2024-02-01', 'multiplier'],
    ['/v2/aggs/ticker/TSLA/range/99999999/day/2024-01-01/2024-02-01', 'multiplier'],
    ['/v2/aggs/ticker/TSLA/range/-1/day/2024-01-01/2024-02-01', 'multiplier'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?limit=0', 'limit'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?limit=50001', 'limit'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?sort=sideways', 'sort'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?adjusted=maybe', 'adjusted'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?cursor=not!a-cursor', 'cursor'],
    ['/v2/aggs/ticker/TSLA/range/1/day/2024-01-01/2024-02-01?cursor=eyJ4IjoxfQ', 'cursor'],
    ['/v2/aggs/ticker/TSLA/range/1/minute/2020-01-01/2024-02-01', 'minute bars'],
    ['/v2/aggs/ticker/..%2F..%2Fetc/range/1/day/2024-01-01/2024-02-01', 'ticker'],
    ['/v2/aggs/ticker/A%2FB/prev', 'ticker'],
    // The real shell takes a path parameter as long as a URL may be (maxUrlBytes, 2,048 bytes), so
    // this one reaches the answer's own check; past that the shell answers 414 (bad-input.test.ts).
    [`/v2/aggs/ticker/${'A'.repeat(200)}/range/1/day/2024-01-01/2024-02-01`, 'ticker'],
    ['/v2/aggs/ticker/TS%20LA/prev', 'ticker'],
    ['/v2/aggs/ticker/X:FOO/prev', 'ticker'],
    ['/v1/open-close/TSLA/2024-1-1', 'date'],
  ])('bad input %s: 400 in the error shape naming %s', async (path, word) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body).toMatchObject({ status: 'ERROR' });
    expect(typeof body.request_id).toBe('string');
    expect(body.error).toContain(word);
    expect((body.error ?? '').length).toBeLessThan(300);
  });
});
