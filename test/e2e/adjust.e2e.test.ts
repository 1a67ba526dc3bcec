// Adjusted reads end to end: the generated flat files carry TSLA's, AAPL's, NVDA's and ZW's
// splits in their raw prices (as the provider's files do), a REST server on loopback serves the
// corporate actions in the provider's format, and every expectation is computed here from the
// generator's own raw bars and the fixture's actions, not from what the library computed.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorporateActions } from '../../src/corporate-actions.js';
import { corporateActions, fetchSymbol, readBars, type Bar } from '../../src/index.js';
import { corporateActionsFixture, DUPLICATE_SPLIT, KNOWN_CLOSE_DIVIDEND, STOCK_DIVIDEND, STOCK_DIVIDEND_BARS, stockDividendFixture } from '../fixtures/actions.js';
import { CSV_HEADER } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { startRestServer, type RestServer } from '../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceBars, type SourceBar } from '../fixtures/source-bars.js';
import { cachedBars, cachedBarsAt, END, putObject, runCli, startWorld, STOCKS, type World } from './helpers.js';

const KEY = 'rest-key-0123456789';
const now = new Date('2026-11-23T18:00:00Z');
const START = '2021-11-21'; // the 5y window ending at END

let w: World;
let rest: RestServer;
beforeAll(async () => {
  w = await startWorld();
  // Three rows a page: every read pages through next_url.
  rest = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture(), pageSize: 3 });
});
afterAll(async () => {
  await rest?.close();
  await w?.close();
});

const lib = (cacheDir: string) => ({
  cacheDir,
  endpoint: w.server.endpoint,
  credentials: { ...S3_CREDENTIALS },
  end: END,
  now,
  apiKey: KEY,
  apiEndpoint: rest.url,
});

/** A day bar's day: stamped at New York midnight, i.e. 04:00Z or 05:00Z of the same UTC date. */
const dayOf = (b: { time: number }): string => new Date(b.time).toISOString().slice(0, 10);

/** Π split_from / split_to over the splits after `day` (one row per execution date, as served once). */
function splitFactor(actions: CorporateActions, day: string): number {
  const byDate = new Map(actions.splits.map((s) => [s.executionDate, s.splitFrom / s.splitTo]));
  return [...byDate].filter(([date]) => date > day).reduce((f, [, r]) => f * r, 1);
}

function expectScaled(actual: Bar, raw: SourceBar, price: number, volume: number): void {
  for (const k of ['open', 'high', 'low', 'close'] as const) expect(actual[k]).toBeCloseTo(raw[k] * price, 6);
  expect(actual.volume).toBeCloseTo(raw.volume * volume, 4);
  expect(actual.transactions).toBe(raw.transactions);
  expect(actual.time).toBe(raw.time);
}

describe('split adjustment', () => {
  it("fetchSymbol is split-adjusted by default: TSLA's 3-for-1 is no jump, bars on or after it are as filed, price x volume kept", async () => {
    const cacheDir = w.cacheDir('tsla');
    const bars = await fetchSymbol('TSLA', { ...lib(cacheDir), period: '5y' });
    const raw = readSourceBars(w.ds, STOCKS, 'TSLA', START, END);
    expect(bars.map((b) => b.time)).toEqual(raw.map((b) => b.time));
    const tsla = corporateActionsFixture().get('TSLA') as CorporateActions;
    for (const [i, b] of bars.entries()) {
      const r = raw[i] as SourceBar;
      const f = splitFactor(tsla, dayOf(b));
      expect(f).toBe(dayOf(b) < '2022-08-25' ? 1 / 3 : 1);
      if (f === 1) expect(b).toEqual(r);
      else expectScaled(b, r, f, 1 / f);
      expect(b.close * b.volume).toBeCloseTo(r.close * r.volume, 2);
    }
    // The raw series drops by two thirds at the split; the adjusted one moves like any other day.
    const at = bars.findIndex((b) => dayOf(b) >= '2022-08-25');
    const rawJump = (raw[at] as SourceBar).close / (raw[at - 1] as SourceBar).close;
    const jump = (bars[at] as Bar).close / (bars[at - 1] as Bar).close;
    expect(rawJump).toBeLessThan(0.45);
    expect(jump).toBeGreaterThan(0.8);
    expect(jump).toBeLessThan(1.25);
    // Every request carried the key, and TSLA's actions were asked for by ticker.
    expect(rest.requests.length).toBeGreaterThan(1);
    for (const r of rest.requests) expect(r.auth).toBe(`Bearer ${KEY}`);
    expect(rest.requests.some((r) => r.path === '/stocks/v1/splits' && (r.query['ticker.any_of'] ?? '').split(',').includes('TSLA'))).toBe(true);
  });

  it("adjust 'none' is the files' bars; 'total' adds AAPL's dividends by the formula; readBars uses what is stored, with no request", async () => {
    const cacheDir = w.cacheDir('aapl');
    await fetchSymbol('AAPL', { ...lib(cacheDir), period: '5y' });
    const before = rest.requests.length;
    const raw = readSourceBars(w.ds, STOCKS, 'AAPL', START, END);
    const window = { cacheDir, start: START, end: END, now };
    expect(await readBars('AAPL', { ...window, adjust: 'none' })).toEqual(raw);

    const aapl = corporateActionsFixture().get('AAPL') as CorporateActions;
    const closes = new Map(aapl.dividends.map((d) => [d.exDividendDate, raw.filter((b) => dayOf(b) < d.exDividendDate).at(-1)?.close]));
    const closeBefore = (exDate: string): number | undefined => closes.get(exDate);
    const total = await readBars('AAPL', { ...window, adjust: 'total' });
    expect(total).toHaveLength(raw.length);
    for (const [i, b] of total.entries()) {
      const r = raw[i] as SourceBar;
      const split = splitFactor(aapl, dayOf(r));
      let dividend = 1;
      for (const d of aapl.dividends) {
        const close = closeBefore(d.exDividendDate);
        if (d.exDividendDate > dayOf(r) && close !== undefined) dividend *= 1 - d.cashAmount / close;
      }
      expectScaled(b, r, split * dividend, 1 / split);
    }
    // The dividend whose previous close is known: the bar of that session carries exactly its factor and the later ones'.
    const known = raw.find((b) => dayOf(b) === KNOWN_CLOSE_DIVIDEND.previousSession) as SourceBar;
    const knownAdjusted = total.find((b) => b.time === known.time) as Bar;
    const later = aapl.dividends.filter((d) => d.exDividendDate > KNOWN_CLOSE_DIVIDEND.exDividendDate);
    const laterFactor = later.reduce((f, d) => f * (1 - d.cashAmount / (closeBefore(d.exDividendDate) ?? Number.NaN)), 1);
    expect(knownAdjusted.close).toBeCloseTo(known.close * (1 - KNOWN_CLOSE_DIVIDEND.cashAmount / known.close) * laterFactor, 6);
    // 'splits' leaves dividends out: within the window AAPL has no split, so it is the raw series.
    expect(await readBars('AAPL', { ...window, adjust: 'splits' })).toEqual(raw);
    expect(rest.requests.length).toBe(before);
  });

  it('a split added at the provider changes the reads after a refresh, and no stored bar is rewritten', async () => {
    const cacheDir = w.cacheDir('tsla');
    const storedBefore = cachedBars(cacheDir, 'TSLA');
    const window = { cacheDir, start: START, end: END, now };
    const first = await readBars('TSLA', window);
    const fixture = corporateActionsFixture();
    const tsla = fixture.get('TSLA') as CorporateActions;
    tsla.splits.push({ ...(tsla.splits[0] as CorporateActions['splits'][number]), executionDate: '2024-01-10', splitFrom: 1, splitTo: 2, id: 'Enew' });
    rest.setFixtures(fixture);
    try {
      // Stored actions answer until they are refreshed.
      expect(await readBars('TSLA', window)).toEqual(first);
      const listed = await corporateActions('TSLA', { cacheDir, apiKey: KEY, apiEndpoint: rest.url, refresh: true });
      expect(listed.splits.map((s) => s.executionDate)).toContain('2024-01-10');
      const second = await readBars('TSLA', window);
      for (const [i, b] of second.entries()) {
        const f = dayOf(b) < '2024-01-10' ? 0.5 : 1;
        expect(b.close).toBeCloseTo((first[i] as Bar).close * f, 6);
      }
      expect(cachedBars(cacheDir, 'TSLA')).toEqual(storedBefore);
    } finally {
      rest.setFixtures(corporateActionsFixture());
      await corporateActions('TSLA', { cacheDir, apiKey: KEY, apiEndpoint: rest.url, refresh: true });
    }
  });

  it('actions lists the stored splits with their factors, counts the duplicate row, and prints no key', async () => {
    const cacheDir = w.cacheDir('tsla');
    const env = { ...w.env, MASSIVE_API_KEY: KEY, MASSIVE_API_URL: rest.url };
    const r = await runCli(['actions', 'TSLA', '--cache-dir', cacheDir, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { splits: Array<{ executionDate: string; factor: number; cumulative: number }>; notes: string[] };
    const at = (d: string) => report.splits.filter((s) => s.executionDate === d);
    expect(at(DUPLICATE_SPLIT.executionDate)).toHaveLength(2); // stored as given
    expect(at('2022-08-25')[0]?.factor).toBeCloseTo(1 / 3, 9);
    expect(at('2020-08-31')[0]?.cumulative).toBeCloseTo(1 / 15, 9);
    expect(report.notes.join('\n')).toMatch(/duplicate|twice|rows?/i);
    const table = await runCli(['actions', 'TSLA', '--cache-dir', cacheDir], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/2022-08-25 +3-for-1/);
    expect(table.stdout + table.stderr).not.toContain(KEY);
  });
});

describe('a stock dividend', () => {
  // STKD's planted week (2019-03-04..08, before the generated window, EST: New York midnight is
  // 05:00Z) with 5% more shares from 03-06 on, and a REST server that serves its actions as the
  // provider's published examples shape them: an integer request_id, string ids, a stock_dividend
  // row with split_from 1 and split_to 1.05 and its cumulative factor, a cash dividend ex 03-08.
  const { ticker } = STOCK_DIVIDEND;
  const window = { start: '2019-03-04', end: '2019-03-08' };
  const time = (day: string): number => Date.parse(`${day}T05:00:00Z`);
  const raw: Bar[] = STOCK_DIVIDEND_BARS.map(({ day, ...b }) => ({ time: time(day), ...b }));
  let sdRest: RestServer;
  beforeAll(async () => {
    for (const b of STOCK_DIVIDEND_BARS) {
      const row = `${ticker},${b.volume},${b.open},${b.close},${b.high},${b.low},${BigInt(time(b.day)) * 1_000_000n},${b.transactions}`;
      putObject(w, `us_stocks_sip/day_aggs_v1/2019/03/${b.day}.csv.gz`, gzipSync(`${CSV_HEADER}\n${row}\n`));
    }
    sdRest = await startRestServer({ apiKey: KEY, fixtures: stockDividendFixture(), requestId: 'integer' });
  });
  afterAll(async () => {
    await sdRest?.close();
  });

  /** `bars` against what is expected, worked out by hand from the planted rows. */
  const expectBars = (bars: Bar[], closes: number[], volumes: number[]): void => {
    expect(bars.map((b) => b.time)).toEqual(raw.map((b) => b.time));
    bars.forEach((b, i) => {
      expect(b.close).toBeCloseTo(closes[i] as number, 9);
      expect(b.volume).toBeCloseTo(volumes[i] as number, 9);
      const f = (closes[i] as number) / (raw[i] as Bar).close;
      expect(b.open).toBeCloseTo((raw[i] as Bar).open * f, 9);
      expect(b.transactions).toBe((raw[i] as Bar).transactions);
    });
  };

  it('is applied like a split by default (prices / 1.05, volume x 1.05 before its date); the cash dividend only in total', async () => {
    const cacheDir = w.cacheDir('stock-dividend');
    const bars = await fetchSymbol(ticker, { ...lib(cacheDir), apiEndpoint: sdRest.url, ...window });
    // 105 / 1.05 = 100, 107.10 / 1.05 = 102; from the execution date on, as filed.
    expectBars(bars, [100, 102, 101, 100, 99.6], [1050, 2100, 3000, 4000, 5000]);
    // The raw drop of 5.7% (107.10 -> 101) is a 1% move once adjusted.
    expect((bars[2] as Bar).close / (bars[1] as Bar).close).toBeCloseTo(101 / 102, 9);
    // Then x (1 - 0.50 / 100) before 03-08, 100 being the raw close of 03-07.
    expectBars(await readBars(ticker, { cacheDir, ...window, now, adjust: 'total' }), [99.5, 101.49, 100.495, 99.5, 99.6], [1050, 2100, 3000, 4000, 5000]);
    expect(await readBars(ticker, { cacheDir, ...window, now, adjust: 'none' })).toEqual(raw);
    const splitAsks = sdRest.requests.filter((r) => r.path === '/stocks/v1/splits');
    expect(splitAsks.map((r) => r.query['ticker.any_of'])).toEqual([ticker]);
  });

  it("actions lists it as a stock_dividend with its factor beside the provider's, and nothing to note", async () => {
    const cacheDir = w.cacheDir('stock-dividend');
    const r = await runCli(['actions', ticker, '--cache-dir', cacheDir, '--json', '--refresh'], { ...w.env, MASSIVE_API_KEY: KEY, MASSIVE_API_URL: sdRest.url });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      splits: Array<{ adjustmentType: string; splitFrom: number; splitTo: number; factor: number; cumulative: number; historicalAdjustmentFactor: number; id: string }>;
      dividends: Array<{ factor: number; cumulative: number }>;
      notes: string[];
    };
    expect(report.splits).toHaveLength(1);
    expect(report.splits[0]).toMatchObject({ adjustmentType: 'stock_dividend', splitFrom: 1, splitTo: 1.05, historicalAdjustmentFactor: STOCK_DIVIDEND.historicalAdjustmentFactor });
    expect(report.splits[0]?.id).toMatch(/^E[0-9a-f]{64}$/);
    expect(report.splits[0]?.factor).toBeCloseTo(1 / 1.05, 12);
    expect(report.splits[0]?.cumulative).toBeCloseTo(1 / 1.05, 12);
    expect(report.dividends[0]?.factor).toBeCloseTo(0.995, 12);
    expect(report.notes).toEqual([]);
  });
});

describe('minute bars', () => {
  // EST: 04:00-19:59 New York is 09:00Z to 00:59Z the next day.
  const DAYS = ['2026-11-18', '2026-11-19'];
  const minuteTime = (day: string, local: number): number => Date.parse(`${day}T05:00:00Z`) + local * 60_000;
  const locals = [4 * 60, 9 * 60 + 30, 9 * 60 + 31, 15 * 60 + 59, 19 * 60 + 59];
  let splitRest: RestServer;
  beforeAll(async () => {
    for (const day of DAYS) {
      const rows = locals.map((l, k) => `MINX,${100 + k},${10 + k},${10.5 + k},${11 + k},${9 + k},${BigInt(minuteTime(day, l)) * 1_000_000n},${k}`);
      putObject(w, `us_stocks_sip/minute_aggs_v1/2026/11/${day}.csv.gz`, gzipSync(`${CSV_HEADER}\n${rows.join('\n')}\n`));
    }
    const fixture = new Map<string, CorporateActions>([
      ['MINX', { splits: [{ ticker: 'MINX', executionDate: DAYS[1] as string, splitFrom: 1, splitTo: 2, adjustmentType: 'forward_split', historicalAdjustmentFactor: 0.5, id: 'm1' }], dividends: [] }],
    ]);
    splitRest = await startRestServer({ apiKey: KEY, fixtures: fixture });
  });
  afterAll(async () => {
    await splitRest?.close();
  });

  it("a 04:00 bar on the execution day is as filed, the previous evening's is adjusted; coarser bars are built from adjusted minutes", async () => {
    const cacheDir = w.cacheDir('minutes');
    const opts = { ...lib(cacheDir), apiEndpoint: splitRest.url, start: DAYS[0], end: DAYS[1] };
    const minutes = await fetchSymbol('MINX', { ...opts, interval: '1m' });
    const raw = cachedBarsAt(cacheDir, 'MINX', '1m');
    expect(minutes).toHaveLength(2 * locals.length);
    for (const [i, b] of minutes.entries()) {
      const r = raw[i] as Bar;
      const onSplitDay = b.time >= minuteTime(DAYS[1] as string, 0);
      if (onSplitDay) expect(b).toEqual(r);
      else expectScaled(b, r, 0.5, 2);
    }
    // 19:59 of the day before: adjusted; 04:00 of the split day: not.
    expect(minutes[locals.length - 1]?.close).toBeCloseTo((raw[locals.length - 1] as Bar).close / 2, 9);
    expect(minutes[locals.length]).toEqual(raw[locals.length]);
    // An hour bar of the first day's regular session: open of 09:30, close of 15:59, both adjusted.
    const hours = await fetchSymbol('MINX', { ...opts, interval: '1h', session: 'regular' });
    const first = hours[0] as Bar;
    expect(first.open).toBeCloseTo((raw[1] as Bar).open / 2, 9);
    expect(first.volume).toBeCloseTo(((raw[1] as Bar).volume + (raw[2] as Bar).volume) * 2, 9);
  });
});

describe('on a PostgreSQL store', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.close();
  });

  it('stores the actions with the bars and reads split-adjusted by default, raw on request', async () => {
    const store = await pg.freshDatabase();
    const opts = { ...lib(w.cacheDir('pg-unused')), store, period: '5y' as const };
    const bars = await fetchSymbol('TSLA', opts);
    const raw = readSourceBars(w.ds, STOCKS, 'TSLA', START, END);
    const tsla = corporateActionsFixture().get('TSLA') as CorporateActions;
    for (const [i, b] of bars.entries()) {
      const f = splitFactor(tsla, dayOf(b));
      expectScaled(b, raw[i] as SourceBar, f, 1 / f);
    }
    expect(await readBars('TSLA', { store, start: START, end: END, adjust: 'none' })).toEqual(raw);
  });
});

describe('without a key, never silently wrong', () => {
  it('the preload downloads and says adjusted reads need MASSIVE_API_KEY; show refuses in one line, --adjust none shows', async () => {
    const cacheDir = w.cacheDir('nokey');
    const env = { ...w.env, MASSIVE_API_URL: rest.url };
    const run = await runCli(['TSLA', '--period', '1mo', '--end', END, '--cache-dir', cacheDir], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/MASSIVE_API_KEY/);
    const shown = await runCli(['show', 'TSLA', '--cache-dir', cacheDir, '--last', '2'], env);
    expect(shown.code).toBe(2);
    expect(shown.stderr.trim().split('\n')).toHaveLength(1);
    expect(shown.stderr).toMatch(/MASSIVE_API_KEY/);
    expect(shown.stderr).toMatch(/adjust/);
    const none = await runCli(['show', 'TSLA', '--cache-dir', cacheDir, '--last', '2', '--adjust', 'none'], env);
    expect(none.code, none.stderr).toBe(0);
    const error = await readBars('TSLA', { cacheDir, period: '1mo', end: END, now }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CONFIGURATION' });
    expect((error as Error).message).toContain('MASSIVE_API_KEY');
    expect((error as Error).message).toContain("adjust: 'none'");
    // Crypto has no corporate actions and needs no key.
    expect((await fetchSymbol('BTC-USD', { ...lib(cacheDir), apiKey: undefined, period: '1mo' })).length).toBeGreaterThan(0);
  });

  it('a refused key is one line and exit 2 before any download; the key never appears, even with --verbose', async () => {
    const cacheDir = w.cacheDir('refused');
    const wrong = 'wrong-key-9876543210';
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--period', '1mo', '--end', END, '--cache-dir', cacheDir, '--verbose'], { ...w.env, MASSIVE_API_KEY: wrong, MASSIVE_API_URL: rest.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REST API refused the key/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(Object.keys((await w.server.stats()).gets)).toHaveLength(0);
  });

  it('a next_url that carries the key as apiKey= never brings it into the output', async () => {
    const leaky = await startRestServer({ apiKey: KEY, fixtures: corporateActionsFixture(), pageSize: 2, nextUrlParams: { apiKey: KEY } });
    try {
      const cacheDir = w.cacheDir('leaky');
      const env = { ...w.env, MASSIVE_API_KEY: KEY, MASSIVE_API_URL: leaky.url };
      const r = await runCli(['TSLA', '--period', '1mo', '--end', END, '--cache-dir', cacheDir, '--json', '--verbose'], env);
      expect(r.code, r.stderr).toBe(0);
      const a = await runCli(['actions', 'TSLA', '--cache-dir', cacheDir, '--json', '--refresh'], env);
      expect(a.code, a.stderr).toBe(0);
      expect(r.stdout + r.stderr + a.stdout + a.stderr).not.toContain(KEY);
      expect(leaky.requests.some((q) => q.query['apiKey'] === KEY)).toBe(true);
    } finally {
      await leaky.close();
    }
  });
});
