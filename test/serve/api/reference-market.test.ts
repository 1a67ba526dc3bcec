// The splits and dividends listings without a ticker on a store holding the whole market's actions
// (stored by storeAllActions from the REST stand-in's market-wide listing, as `actions --all`
// does, plus one ticker fetched on its own afterwards), on SQLite and on PostgreSQL: every page,
// walked by next_url and gathered by the official client's `pagination: true`, against the
// fixture's rows filtered and sorted here by hand, for v1 and v3, with date filters and sorts on
// nullable fields (a row without the field last, whichever the direction).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { restClient } from '@massive.com/client-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeAllActions } from '../../../src/actions/refresh.js';
import type { CorporateActions, Dividend, Split } from '../../../src/corporate-actions.js';
import { openStore } from '../../../src/store/open.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { startRestServer, type RestServer } from '../../fixtures/rest-server.js';
import { closeAll, serveStore, type ServedStore } from '../../fixtures/serve-app.js';
import { rng } from '../../fixtures/random.js';

const KEY = 'rest-key-0123456789';
const now = new Date('2026-11-21T18:00:00Z');
type Row = Record<string, unknown>;

const TICKERS = 400;
/** 400 tickers (some with a class suffix), a split for 1 in 5, quarterly dividends for 1 in 2, with gaps in every optional field. */
function market(): Map<string, CorporateActions> {
  const random = rng(29);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const date = (from: number, to: number): string => `${from + Math.floor(random() * (to - from + 1))}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  const out = new Map<string, CorporateActions>();
  for (let i = 0; i < TICKERS; i++) {
    const ticker = `${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}${i % 37 === 0 ? '.B' : ''}`;
    const splits: Split[] = [];
    if (i % 5 === 0) {
      for (let k = 0; k < 1 + (i % 2); k++) {
        const type = pick(['forward_split', 'reverse_split', 'stock_dividend']);
        splits.push({ ticker, executionDate: date(2005, 2026), splitFrom: type === 'reverse_split' ? 10 : 1, splitTo: type === 'reverse_split' ? 1 : type === 'stock_dividend' ? 1.05 : 4, adjustmentType: type, historicalAdjustmentFactor: random() < 0.3 ? null : Number(random().toPrecision(6)), id: `S${k}` });
      }
    }
    const dividends: Dividend[] = [];
    if (i % 2 === 0) {
      for (let q = 0; q < 12; q++) {
        // Few distinct ex-dates: many ties across tickers.
        const exDividendDate = `${2020 + (q >> 1)}-${q % 2 === 0 ? '03' : '09'}-1${i % 3}`;
        const type = random() < 0.1 ? null : random() < 0.1 ? 'special' : 'recurring';
        dividends.push({
          ticker, exDividendDate, cashAmount: Math.round(random() * 100) / 100, currency: random() < 0.1 ? null : 'USD', distributionType: type,
          frequency: random() < 0.2 ? null : type === 'special' ? 0 : 4, payDate: random() < 0.2 ? null : exDividendDate.replace(/-1(\d)$/, '-2$1'),
          recordDate: random() < 0.3 ? null : date(2020, 2026), declarationDate: random() < 0.3 ? null : date(2019, 2026),
          splitAdjustedCashAmount: random() < 0.5 ? null : Math.round(random() * 100) / 100, historicalAdjustmentFactor: random() < 0.5 ? null : Number(random().toPrecision(6)), id: `D${q}`,
        });
      }
    }
    out.set(ticker, { splits, dividends });
  }
  return out;
}

const fixture = market();
/** Fetched on its own after the market-wide listing (Store.replaceActions): listed too. */
const OWN: CorporateActions = {
  splits: [{ ticker: 'ZZOWN', executionDate: '2024-06-03', splitFrom: 1, splitTo: 3, adjustmentType: 'forward_split', historicalAdjustmentFactor: null, id: 'own1' }],
  dividends: [{ ticker: 'ZZOWN', exDividendDate: '2024-06-03', cashAmount: 1.5, currency: 'USD', distributionType: 'special', frequency: null, payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: null, historicalAdjustmentFactor: null, id: 'own2' }],
};
const stored = new Map([...fixture, ['ZZOWN', OWN]]);

// ---------- the rows as each endpoint sends them, written out here (the provider's field names) ----------
const compact = (r: Record<string, unknown>): Row => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
const v1Split = (s: Split): Row => compact({ adjustment_type: s.adjustmentType, execution_date: s.executionDate, historical_adjustment_factor: s.historicalAdjustmentFactor, id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: s.ticker });
const v3Split = (s: Split): Row => ({ execution_date: s.executionDate, id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: s.ticker });
const v1Dividend = (d: Dividend): Row =>
  compact({
    cash_amount: d.cashAmount, currency: d.currency, declaration_date: d.declarationDate, distribution_type: d.distributionType, ex_dividend_date: d.exDividendDate, frequency: d.frequency,
    historical_adjustment_factor: d.historicalAdjustmentFactor, id: d.id, pay_date: d.payDate, record_date: d.recordDate, split_adjusted_cash_amount: d.splitAdjustedCashAmount, ticker: d.ticker,
  });
const v3Dividend = (d: Dividend): Row =>
  compact({
    cash_amount: d.cashAmount, currency: d.currency, declaration_date: d.declarationDate, dividend_type: d.distributionType === 'special' ? 'SC' : 'CD', ex_dividend_date: d.exDividendDate,
    frequency: d.frequency ?? 0, id: d.id, pay_date: d.payDate, record_date: d.recordDate, ticker: d.ticker,
  });
const splits = [...stored.values()].flatMap((a) => a.splits);
const dividends = [...stored.values()].flatMap((a) => a.dividends);

/** Sorted by the keys (a row without the field after those with it, in either direction), then ticker, id, then date. */
const sortedBy = (rows: Row[], dateField: string, ...keys: Array<[string, 1 | -1]>): Row[] =>
  [...rows].sort((a, b) => {
    for (const [k, dir] of [...keys, ['ticker', 1], ['id', 1], [dateField, 1]] as Array<[string, 1 | -1]>) {
      const x = a[k] as string | number | undefined;
      const y = b[k] as string | number | undefined;
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    }
    return 0;
  });
const inRange = (field: string, from: string, to: string) => (r: Row): boolean => typeof r[field] === 'string' && (r[field]) >= from && (r[field]) < to;

interface Case {
  name: string;
  path: string;
  query: Record<string, string>;
  expected: Row[];
  /** The same request through the official client, every page gathered (`pagination: true`). */
  client(base: string): Promise<{ results?: unknown[] }>;
}
const paged = (base: string) => restClient(KEY, base, { pagination: true });
const CASES: Case[] = [
  {
    name: 'v1 splits after 2010, by adjustment type descending then execution date',
    path: '/stocks/v1/splits',
    query: { 'execution_date.gte': '2010-01-01', sort: 'adjustment_type.desc,execution_date.asc', limit: '7' },
    expected: sortedBy(splits.map(v1Split).filter(inRange('execution_date', '2010-01-01', '9999')), 'execution_date', ['adjustment_type', -1], ['execution_date', 1]),
    client: (base) => paged(base).getStocksV1Splits({ executionDateGte: '2010-01-01', sort: 'adjustment_type.desc,execution_date.asc', limit: 7 }),
  },
  {
    name: 'v1 dividends of [2021-01-01, 2025-06-01), by frequency descending (none last) then ex-date',
    path: '/stocks/v1/dividends',
    query: { 'ex_dividend_date.gte': '2021-01-01', 'ex_dividend_date.lt': '2025-06-01', sort: 'frequency.desc,ex_dividend_date.asc', limit: '150' },
    expected: sortedBy(dividends.map(v1Dividend).filter(inRange('ex_dividend_date', '2021-01-01', '2025-06-01')), 'ex_dividend_date', ['frequency', -1], ['ex_dividend_date', 1]),
    client: (base) => paged(base).getStocksV1Dividends({ exDividendDateGte: '2021-01-01', exDividendDateLt: '2025-06-01', sort: 'frequency.desc,ex_dividend_date.asc', limit: 150 }),
  },
  {
    name: 'v1 dividends, every row, the default sort (ticker) and limit',
    path: '/stocks/v1/dividends',
    query: {},
    expected: sortedBy(dividends.map(v1Dividend), 'ex_dividend_date', ['ticker', 1]),
    client: (base) => paged(base).getStocksV1Dividends({}),
  },
  {
    name: 'v1 splits of tickers [M, T) after 2008, by ticker descending',
    path: '/stocks/v1/splits',
    query: { 'ticker.gte': 'M', 'ticker.lt': 'T', 'execution_date.gt': '2008-01-01', sort: 'ticker.desc', limit: '5' },
    expected: sortedBy(splits.map(v1Split).filter((r) => inRange('ticker', 'M', 'T')(r) && inRange('execution_date', '2008-01-01\u0000', '9999')(r)), 'execution_date', ['ticker', -1]),
    client: (base) => paged(base).getStocksV1Splits({ tickerGte: 'M', tickerLt: 'T', executionDateGt: '2008-01-01', sort: 'ticker.desc', limit: 5 }),
  },
  {
    name: 'v3 splits up to 2024, by execution date ascending',
    path: '/v3/reference/splits',
    query: { 'execution_date.lte': '2024-12-31', sort: 'execution_date', order: 'asc', limit: '9' },
    expected: sortedBy(splits.map(v3Split).filter(inRange('execution_date', '0000', '2024-12-31\u0000')), 'execution_date', ['execution_date', 1]),
    client: (base) => paged(base).listStockSplits({ executionDateLte: '2024-12-31', sort: 'execution_date' as never, order: 'asc' as never, limit: 9 }),
  },
  {
    name: 'v3 dividends from 2022, by record date ascending (none last)',
    path: '/v3/reference/dividends',
    query: { 'ex_dividend_date.gte': '2022-01-01', sort: 'record_date', order: 'asc', limit: '120' },
    expected: sortedBy(dividends.map(v3Dividend).filter(inRange('ex_dividend_date', '2022-01-01', '9999')), 'ex_dividend_date', ['record_date', 1]),
    client: (base) => paged(base).listDividends({ exDividendDateGte: '2022-01-01', sort: 'record_date' as never, order: 'asc' as never, limit: 120 }),
  },
  {
    // dividend_type is made from distribution_type: filtered and sorted in JS after one read of the kind.
    name: 'v3 dividends of one type and frequency 0 (none counts as 0), by dividend_type descending',
    path: '/v3/reference/dividends',
    query: { dividend_type: 'SC', frequency: '0', 'ex_dividend_date.lt': '2024-01-01', sort: 'dividend_type', order: 'desc', limit: '25' },
    expected: sortedBy(dividends.map(v3Dividend).filter((r) => r['dividend_type'] === 'SC' && r['frequency'] === 0 && inRange('ex_dividend_date', '0000', '2024-01-01')(r)), 'ex_dividend_date', ['dividend_type', -1]),
    client: (base) => paged(base).listDividends({ dividendType: 'SC' as never, frequency: 0 as never, exDividendDateLt: '2024-01-01', sort: 'dividend_type' as never, order: 'desc' as never, limit: 25 }),
  },
];

let rest: RestServer;
let pg: TestPostgres;
let dir: string;
const served: Record<string, ServedStore> = {};

beforeAll(async () => {
  rest = await startRestServer({ apiKey: KEY, fixtures: fixture, pageSize: 500 });
  pg = await startPostgres();
  dir = mkdtempSync(path.join(tmpdir(), 'pmd-listings-'));
  const locations = { SQLite: { store: undefined, cacheDir: dir }, PostgreSQL: { store: await pg.freshDatabase(), cacheDir: dir } };
  for (const [name, location] of Object.entries(locations)) {
    const store = await openStore(location);
    try {
      await storeAllActions(store, { apiKey: KEY, apiEndpoint: rest.url, signal: undefined, retries: 0, retryDelayMs: 1, timeoutMs: 10_000 });
      await store.replaceActions(new Map([['ZZOWN', OWN]]), new Date(Date.now() + 1000).toISOString());
    } finally {
      await store.close();
    }
    served[name] = await serveStore(location, now);
  }
}, 240_000);
afterAll(async () => {
  await closeAll(served['SQLite'], served['PostgreSQL'], pg, rest);
  rmSync(dir, { recursive: true, force: true });
});

/** Every page from the first request on, by next_url. */
async function walk(base: string, path: string, query: Record<string, string>): Promise<Row[][]> {
  const pages: Row[][] = [];
  let url: string | undefined = `${base}${path}?${new URLSearchParams(query).toString()}`;
  while (url !== undefined) {
    const r = await fetch(url);
    const body = (await r.json()) as { status: string; results: Row[]; next_url?: string };
    expect(r.status, JSON.stringify(body)).toBe(200);
    pages.push(body.results);
    url = body.next_url;
  }
  return pages;
}

describe.each(['SQLite', 'PostgreSQL'])('listings without a ticker on a whole-market store (%s)', (name) => {
  it('the fixture is a market: hundreds of tickers and thousands of rows', () => {
    expect(splits.length).toBeGreaterThan(100);
    expect(dividends.length).toBeGreaterThan(2000);
  });

  it.each(CASES)('$name: every page, in order, by next_url', async (c) => {
    const base = (served[name] as ServedStore).url;
    const pages = await walk(base, c.path, c.query);
    const limit = Number(c.query['limit'] ?? 100);
    expect(c.expected.length).toBeGreaterThan(limit);
    expect(pages.length).toBe(Math.ceil(c.expected.length / limit));
    expect(pages.flat()).toEqual(c.expected);
  });

  it.each(CASES)('$name: the official client gathers the same rows', async (c) => {
    const all = (await c.client((served[name] as ServedStore).url)).results as Row[];
    // The client puts each later page first: compared in the expected order.
    const dateField = c.path.includes('splits') ? 'execution_date' : 'ex_dividend_date';
    const sortField = c.query['sort']?.split(/[.,]/)[0] ?? (c.path === '/stocks/v1/dividends' ? 'ticker' : dateField);
    expect(all.length).toBe(c.expected.length);
    expect(sortedBy(all, dateField, [sortField, 1])).toEqual(sortedBy(c.expected, dateField, [sortField, 1]));
  });
});
