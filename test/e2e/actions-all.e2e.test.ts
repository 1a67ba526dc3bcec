// The whole market's corporate actions (`actions --all`, fetchAllCorporateActions, an `--all` run
// with a REST key) end to end: generated flat files on a real s3rver, the REST stand-in on loopback
// listing every ticker's rows when no ticker is named, real SQLite files and a real PostgreSQL.
// Judged by the stand-in's request log, by the stores' tables read directly, by the fixtures the
// stand-in was given and by the generator's own bars and split factors.
import { join } from 'node:path';
import { restClient } from '@massive.com/client-js';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorporateActions, Dividend, Split } from '../../src/corporate-actions.js';
import { fetchAllCorporateActions, preload, readBars, type AllActionsEvent } from '../../src/index.js';
import { NO_KEY_ALL_NOTE } from '../../src/actions/refresh.js';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { generatedSplitFactor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { dividendToWire, splitToWire, startRestServer, type RestServer } from '../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { serveStore } from '../fixtures/serve-app.js';
import { readSourceRows } from '../fixtures/source-bars.js';
import { runCli, startWorld, STOCKS, type World } from './helpers.js';

const KEY = 'rest-key-all-5f3a9c1e77';
const now = new Date('2026-11-23T18:00:00Z');
const START = '2022-08-22';
const END = '2022-08-26';
const DAY = '2022-08-24'; // TSLA's 3-for-1 is the next day
const PAGE = 7;

/** The fixture's tickers, and 30 listed tickers the flat files do not have (digits: no generated ticker has one). */
function marketFixture(): Map<string, CorporateActions> {
  const m = corporateActionsFixture();
  for (let i = 0; i < 30; i++) {
    const ticker = `Q${i}X`;
    const split: Split = { ticker, executionDate: `2023-0${1 + (i % 9)}-1${i % 10}`, splitFrom: 1, splitTo: 2 + (i % 3), adjustmentType: 'forward_split', historicalAdjustmentFactor: null, id: `sq${i}` };
    const dividend = (q: number): Dividend => ({
      ticker, exDividendDate: `2021-0${1 + q * 3}-15`, cashAmount: 0.1 + i / 100, currency: 'USD', distributionType: 'recurring', frequency: 4,
      payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: null, historicalAdjustmentFactor: null, id: `dq${i}-${q}`,
    });
    m.set(ticker, { splits: i % 2 === 0 ? [split] : [], dividends: [dividend(0), dividend(1)] });
  }
  return m;
}

const FIXTURE = marketFixture();
const splitRows = [...FIXTURE.values()].flatMap((a) => a.splits);
const dividendRows = [...FIXTURE.values()].flatMap((a) => a.dividends);
const tickersWithRows = [...FIXTURE].filter(([, a]) => a.splits.length + a.dividends.length > 0).map(([t]) => t);

let w: World;
let rest: RestServer;
let postgres: TestPostgres;
beforeAll(async () => {
  w = await startWorld();
  rest = await startRestServer({ apiKey: KEY, fixtures: FIXTURE, pageSize: PAGE });
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await rest?.close();
  await postgres?.close();
  await w?.close();
});

const s3 = () => ({ endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now });
const restOptions = { apiKey: KEY, apiEndpoint: '', retries: 0, retryDelayMs: 1 };
const restOpts = () => ({ ...restOptions, apiEndpoint: rest.url });

/** Every request the stand-in saw from `from` on. */
const seen = (from: number) => rest.requests.slice(from);

/** The stored rows in the provider's format, sorted as the fixture's would be. */
const canon = (r: Record<string, unknown>): string => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]));
const wireOrder = (a: Record<string, unknown>, b: Record<string, unknown>): number => (canon(a) < canon(b) ? -1 : 1);
const expectedSplits = splitRows.map(splitToWire).sort(wireOrder);
const expectedDividends = dividendRows.map(dividendToWire).sort(wireOrder);

function sqliteRows(cacheDir: string): { splits: Record<string, unknown>[]; dividends: Record<string, unknown>[]; market: unknown[]; fetched: unknown[] } {
  const db = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true });
  try {
    return {
      splits: (db.prepare('SELECT * FROM splits').all() as Record<string, unknown>[]).sort(wireOrder),
      dividends: (db.prepare('SELECT * FROM dividends').all() as Record<string, unknown>[]).sort(wireOrder),
      market: db.prepare('SELECT * FROM actions_market').all(),
      fetched: db.prepare('SELECT * FROM actions_fetched ORDER BY ticker').all(),
    };
  } finally {
    db.close();
  }
}

/** A listing's requests as the stand-in logged them: the first names no ticker, each later one is the previous page's cursor. */
function expectPagedListing(requests: typeof rest.requests, path: string, rows: number): void {
  const mine = requests.filter((r) => r.path === path);
  expect(mine).toHaveLength(Math.ceil(rows / PAGE));
  const [first, ...rest] = mine;
  expect(first?.query).toEqual({ limit: '5000' });
  for (const r of rest) expect(Object.keys(r.query)).toEqual(['cursor']);
  for (const r of mine) expect(r.auth).toBe(`Bearer ${KEY}`);
}

describe('the whole market\'s corporate actions on a SQLite store filled by --all', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = w.cacheDir('all-sqlite');
    // Without a key: the bars, no actions, and a note that says how to get them.
    const report = await preload([], { ...s3(), cacheDir, all: true, start: START, end: END });
    expect(report.notes).toContain(NO_KEY_ALL_NOTE);
  }, 120_000);

  it('without actions, grouped daily adjusted is a 404 naming `actions --all`, never raw bars', async () => {
    const served = await serveStore({ store: undefined, cacheDir }, now);
    try {
      const r = await fetch(`${served.url}/v2/aggs/grouped/locale/us/market/stocks/${DAY}`);
      expect(r.status).toBe(404);
      const body = (await r.json()) as { error: string };
      expect(body.error).toContain('preload-market-data actions --all');
      expect(body.error).toContain('adjusted=false');
    } finally {
      await served.close();
    }
  });

  it('actions --all: one paged listing of each kind with no ticker filter, every listed row stored, a summary with no key in it', async () => {
    const from = rest.requests.length;
    const r = await runCli(['actions', '--all', '--cache-dir', cacheDir, '--api-endpoint', rest.url, '--verbose'], { ...w.env, MASSIVE_API_KEY: KEY });
    expect(r.stderr).not.toContain(KEY);
    expect(r.stdout).not.toContain(KEY);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^whole market: ${splitRows.length} splits, ${dividendRows.length} dividends of ${FIXTURE.size} tickers stored, fetched \\S+Z;`));
    expectPagedListing(seen(from), '/stocks/v1/splits', splitRows.length);
    expectPagedListing(seen(from), '/stocks/v1/dividends', dividendRows.length);
    expect(seen(from).every((q) => q.path === '/stocks/v1/splits' || q.path === '/stocks/v1/dividends')).toBe(true);

    const stored = sqliteRows(cacheDir);
    expect(stored.splits).toEqual(expectedSplits);
    expect(stored.dividends).toEqual(expectedDividends);
    expect(stored.market).toHaveLength(1);
    expect(stored.fetched).toEqual([]);
  });

  it('grouped daily through the official client answers split-adjusted bars: readBars(adjusted) of each ticker, and the split ratios by hand', async () => {
    const served = await serveStore({ store: undefined, cacheDir }, now);
    try {
      const answer = await restClient('any', served.url).getGroupedStocksAggregates({ date: DAY });
      expect(answer.adjusted).toBe(true);
      const source = new Map([...readSourceRows(w.ds, STOCKS, DAY, DAY).values()].map((r) => [r.ticker, r]));
      const results = answer.results ?? [];
      expect(results).toHaveLength(source.size);
      const byTicker = new Map(results.map((r) => [r.T, r]));
      // TSLA (3-for-1 the next day), AAPL and a ticker with no listed actions at all.
      const noActions = [...source.keys()].find((t) => !FIXTURE.has(t) && generatedSplitFactor(t, DAY) === 1) ?? '';
      for (const ticker of ['TSLA', 'AAPL', noActions]) {
        const [bar] = await readBars(ticker, { cacheDir, start: DAY, end: DAY, adjust: 'splits', now });
        const got = byTicker.get(ticker);
        expect(got, ticker).toBeDefined();
        for (const [k, f] of [['o', 'open'], ['h', 'high'], ['l', 'low'], ['c', 'close'], ['v', 'volume']] as const) expect(got?.[k]).toBeCloseTo(bar?.[f] ?? NaN, 6);
        expect(got?.t).toBe(bar?.time);
      }
      const tsla = source.get('TSLA');
      expect(byTicker.get('TSLA')?.c).toBeCloseTo((tsla?.close ?? 0) / 3, 6);
      expect(byTicker.get('TSLA')?.v).toBeCloseTo((tsla?.volume ?? 0) * 3, 3);
      // A ticker without actions: adjusted is the bar as traded.
      const raw = source.get(noActions);
      expect(byTicker.get(noActions)).toMatchObject({ o: raw?.open, h: raw?.high, l: raw?.low, c: raw?.close, v: raw?.volume });
      const [asTraded] = await readBars(noActions, { cacheDir, start: DAY, end: DAY, adjust: 'none', now });
      const [adjusted] = await readBars(noActions, { cacheDir, start: DAY, end: DAY, now });
      expect(adjusted).toEqual(asTraded);
      // Every bar: the generator's own split factor.
      for (const [ticker, row] of source) {
        const f = generatedSplitFactor(ticker, DAY);
        expect(byTicker.get(ticker)?.c, ticker).toBeCloseTo(row.close / f, 6);
      }
    } finally {
      await served.close();
    }
  });

  it('an --all run with the key fetches nothing while the market-wide actions are younger than a day, and all of them again once older', async () => {
    const from = rest.requests.length;
    const fresh = await preload([], { ...s3(), ...restOpts(), cacheDir, all: true, start: START, end: END });
    expect(seen(from)).toEqual([]);
    expect(fresh.notes.join('\n')).not.toContain('corporate actions');
    const db = new Database(join(cacheDir, 'market-data.sqlite'));
    db.prepare('UPDATE actions_market SET fetched_at = ?').run(new Date(Date.now() - 25 * 3_600_000).toISOString());
    db.close();
    const stale = await preload([], { ...s3(), ...restOpts(), cacheDir, all: true, start: START, end: END });
    expect(stale.notes).toContain(`fetched the whole market's corporate actions: ${splitRows.length} splits, ${dividendRows.length} dividends of ${FIXTURE.size} tickers`);
    expectPagedListing(seen(from), '/stocks/v1/splits', splitRows.length);
    expectPagedListing(seen(from), '/stocks/v1/dividends', dividendRows.length);
    expect(Date.now() - Date.parse(String((sqliteRows(cacheDir).market[0] as { fetched_at: string }).fetched_at))).toBeLessThan(60_000);
    // A symbol run right after: its ticker counts as fetched (the market-wide time), nothing asked.
    const after = rest.requests.length;
    await preload(['TSLA'], { ...s3(), ...restOpts(), cacheDir, start: START, end: END });
    expect(seen(after)).toEqual([]);
  });

  it('a listing that fails midway stores nothing: the rows and times stay as they were', async () => {
    const before = sqliteRows(cacheDir);
    // The third page of the splits fails (no retries): nothing of the two pages read is kept.
    rest.fault('pass', 'pass', { status: 500, body: { status: 'ERROR', error: 'boom' } });
    const events: AllActionsEvent[] = [];
    await expect(fetchAllCorporateActions({ cacheDir, ...restOpts(), onProgress: (e) => events.push(e) })).rejects.toMatchObject({ code: 'ERR_ACTIONS' });
    expect(events).toEqual([
      { type: 'actions-page', listing: 'splits', pages: 1, rows: PAGE },
      { type: 'actions-page', listing: 'splits', pages: 2, rows: 2 * PAGE },
    ]);
    expect(sqliteRows(cacheDir)).toEqual(before);
  });
});

describe('the CLI', () => {
  it('actions --all with a symbol is bad input: one line, exit 2, nothing asked', async () => {
    const from = rest.requests.length;
    const r = await runCli(['actions', '--all', 'TSLA', '--cache-dir', w.cacheDir('cli-bad'), '--api-endpoint', rest.url], { ...w.env, MASSIVE_API_KEY: KEY });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--all');
    expect(r.stderr).toContain('TSLA');
    expect(seen(from)).toEqual([]);
  });

  it('actions --all without MASSIVE_API_KEY, or with a key the API refuses: one line, exit 2, the key never printed', async () => {
    const none = await runCli(['actions', '--all', '--cache-dir', w.cacheDir('cli-nokey'), '--api-endpoint', rest.url], w.env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('MASSIVE_API_KEY');
    const wrong = 'wrong-key-9d8c7b6a5f';
    const refused = await runCli(['actions', '--all', '--cache-dir', w.cacheDir('cli-wrong'), '--api-endpoint', rest.url, '--verbose', '--log-format', 'json'], { ...w.env, MASSIVE_API_KEY: wrong });
    expect(refused.code).toBe(2);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(wrong);
    expect(refused.stderr).toContain('refused the key');
  });

  it('an --all run with MASSIVE_API_KEY fetches the market-wide actions before its downloads, says so, and never prints the key', async () => {
    const from = rest.requests.length;
    const cacheDir = w.cacheDir('cli-run');
    const r = await runCli(['--all', '--start', '2022-08-24', '--end', '2022-08-25', '--cache-dir', cacheDir, '--api-endpoint', rest.url, '--verbose'], { ...w.env, MASSIVE_API_KEY: KEY });
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(`fetched the whole market's corporate actions: ${splitRows.length} splits, ${dividendRows.length} dividends of ${FIXTURE.size} tickers`);
    expectPagedListing(seen(from), '/stocks/v1/splits', splitRows.length);
    expectPagedListing(seen(from), '/stocks/v1/dividends', dividendRows.length);
    expect(sqliteRows(cacheDir).splits).toEqual(expectedSplits);
  });

  it('actions --all --json prints the counts as one object', async () => {
    const r = await runCli(['actions', '--all', '--json', '--cache-dir', w.cacheDir('cli-json'), '--api-endpoint', rest.url], { ...w.env, MASSIVE_API_KEY: KEY });
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
    expect(JSON.parse(r.stdout)).toMatchObject({ splits: splitRows.length, dividends: dividendRows.length, tickers: FIXTURE.size });
  });
});

describe('PostgreSQL', () => {
  it('stores every listed row whole, and a listing that fails midway leaves the store as it was', async () => {
    const url = await postgres.freshDatabase();
    const events: AllActionsEvent[] = [];
    const report = await fetchAllCorporateActions({ store: url, ...restOpts(), onProgress: (e) => events.push(e) });
    expect(report).toMatchObject({ splits: splitRows.length, dividends: dividendRows.length, tickers: FIXTURE.size });
    expect(events.filter((e) => e.listing === 'splits').at(-1)).toEqual({ type: 'actions-page', listing: 'splits', pages: Math.ceil(splitRows.length / PAGE), rows: splitRows.length });
    expect(events.filter((e) => e.listing === 'dividends').at(-1)).toEqual({ type: 'actions-page', listing: 'dividends', pages: Math.ceil(dividendRows.length / PAGE), rows: dividendRows.length });
    const client = new pg.Client(url);
    await client.connect();
    try {
      const read = async () => ({
        splits: (await client.query<Record<string, unknown>>('SELECT * FROM splits')).rows.sort(wireOrder),
        dividends: (await client.query<Record<string, unknown>>('SELECT * FROM dividends')).rows.sort(wireOrder),
        market: (await client.query<{ fetched_at: Date }>('SELECT fetched_at FROM actions_market')).rows,
      });
      const stored = await read();
      expect(stored.splits).toEqual(expectedSplits);
      expect(stored.dividends).toEqual(expectedDividends);
      expect(stored.market.map((r) => r.fetched_at.toISOString())).toEqual([report.fetchedAt]);
      // Tickers listed, tickers not: each fetched as of the listing.
      const { openPostgresStore } = await import('../../src/store/postgres/index.js');
      const store = await openPostgresStore(url);
      try {
        const asked = [...tickersWithRows.slice(0, 3), 'NOSUCH'];
        expect(await store.actionsFetchedAt(asked)).toEqual(new Map(asked.map((t) => [t, report.fetchedAt])));
        expect(await store.getActions('NOSUCH')).toEqual({ splits: [], dividends: [], fetchedAt: report.fetchedAt });
      } finally {
        await store.close();
      }

      // The second page of the splits fails (no retries): nothing of the first is kept.
      rest.fault('pass', { status: 500, body: { status: 'ERROR', error: 'boom' } });
      await expect(fetchAllCorporateActions({ store: url, ...restOpts() })).rejects.toMatchObject({ code: 'ERR_ACTIONS' });
      expect(await read()).toEqual(stored);
    } finally {
      await client.end();
    }
  });
});
