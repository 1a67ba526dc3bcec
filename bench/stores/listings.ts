/**
 * `npm run bench -- listings`: serve's splits and dividends listings without a ticker filter
 * (src/serve/api/reference.ts) on a store holding the whole market's corporate actions as
 * `actions --all` leaves them (Store.replaceAllActions: 11,000 tickers with a day of bars each, a
 * few thousand splits, ~110,000 dividends), on SQLite and on an embedded PostgreSQL
 * (test/fixtures/postgres.ts). Each case is a first page and a page deep in (its `next_url`'s
 * cursor), answered by the path it had (every stock ticker with bars and fetched actions, a getActions each,
 * then filters, sort and paging in JS, copied here as `perTicker`) and the one it has (Store.listActions), side by side in one run,
 * alternating. Both answers are compared: the bench fails if they differ.
 *   --runs N    runs of each (default 5)        --pg-runs N   runs on PostgreSQL (default 3; 0 skips it)
 *   --out FILE  default bench/results/listings.json
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CorporateActions, Dividend, Split } from '../../src/corporate-actions.js';
import { decodeCursor, nextUrl, parseLimit } from '../../src/serve/api/params.js';
import { conditionsOf, DIVIDENDS_V1, DIVIDENDS_V3, filterOf, listingAnswer, orderOf, sortKeysOf, SPLITS_V1, SPLITS_V3, type Listing, type Wire } from '../../src/serve/api/reference.js';
import type { ApiAnswer, ApiContext, ApiRequest } from '../../src/serve/api/types.js';
import { Db } from '../../src/store/postgres/db.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { completeFiles } from '../../src/store/postgres/merge.js';
import { allScope } from '../../src/store/scope.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { CompletedFile, JobSpec, Store } from '../../src/store/types.js';
import { startPostgres } from '../../test/fixtures/postgres.js';
import { positiveInt } from '../lib/flags.js';
import { dayFile, rng, tickers } from './sqlite-bulk-data.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string' }, 'pg-runs': { type: 'string' }, out: { type: 'string' } } });
const RUNS = positiveInt(flags, 'runs', 5);
const PG_RUNS = flags['pg-runs'] === '0' ? 0 : positiveInt(flags, 'pg-runs', 3);
const OUT = flags.out ?? fileURLToPath(new URL('../results/listings.json', import.meta.url));
const DATASET = 'us_stocks_sip/day_aggs_v1';
const DAY = '2026-11-20';
const names = tickers(11_000);
/** One whole-market day of bars: its tickers (2% halted that day) are the store's, and those the listing has. */
const dayBars = dayFile(names, DAY, 0);
const listed = [...new Set(dayBars.ticker)];
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** The whole market's actions, deterministic: ~1 ticker in 4 with splits, 1 in 3 a quarterly payer since 2000. */
function market(): Map<string, CorporateActions> {
  const random = rng(29);
  const out = new Map<string, CorporateActions>();
  const day = (y: number, m: number, d: number): string => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  for (const [i, ticker] of listed.entries()) {
    const splits: Split[] = [];
    if (i % 4 === 0) {
      for (let k = 0; k < 1 + (i % 3); k++) {
        const to = 2 + Math.floor(random() * 8);
        const reverse = random() < 0.3;
        splits.push({
          ticker, executionDate: day(2000 + Math.floor(random() * 27), 1 + Math.floor(random() * 12), 1 + Math.floor(random() * 28)),
          splitFrom: reverse ? to : 1, splitTo: reverse ? 1 : to, adjustmentType: reverse ? 'reverse_split' : 'forward_split',
          historicalAdjustmentFactor: random() < 0.8 ? Number(random().toPrecision(6)) : null, id: `E${i}s${k}`,
        });
      }
    }
    const dividends: Dividend[] = [];
    if (i % 3 === 0) {
      for (let q = 0; q < 30; q++) {
        const y = 2019 + (q >> 2);
        const m = 1 + 3 * (q & 3);
        const special = random() < 0.05;
        dividends.push({
          ticker, exDividendDate: day(y, m, 10 + (i % 15)), cashAmount: Math.round(random() * 200) / 100, currency: 'USD',
          distributionType: special ? 'special' : random() < 0.1 ? null : 'recurring', frequency: special ? 0 : random() < 0.1 ? null : 4,
          payDate: day(y, m, 26), recordDate: random() < 0.1 ? null : day(y, m, 11 + (i % 15)), declarationDate: random() < 0.3 ? null : day(y, m, 1),
          splitAdjustedCashAmount: null, historicalAdjustmentFactor: Number((1 - random() / 100).toPrecision(6)), id: `E${i}d${q}`,
        });
      }
    }
    out.set(ticker, { splits, dividends });
  }
  return out;
}

/** One request of a case: its query, or the cursor of a page deep in. */
interface Case {
  name: string;
  listing: Listing;
  query: Record<string, string>;
  /** Rows to skip by next_url: the deep page's offset. */
  deep: number;
}
const CASES: Case[] = [
  { name: 'v1 splits, default sort', listing: SPLITS_V1, query: {}, deep: 2_900 },
  { name: 'v1 dividends, default sort (ticker)', listing: DIVIDENDS_V1, query: {}, deep: 100_000 },
  { name: 'v1 dividends, ex-date >= 2024-01-01, sort ex_dividend_date.desc, limit 1000', listing: DIVIDENDS_V1, query: { 'ex_dividend_date.gte': '2024-01-01', sort: 'ex_dividend_date.desc', limit: '1000' }, deep: 30_000 },
  { name: 'v3 dividends, default sort (ex-date desc)', listing: DIVIDENDS_V3, query: {}, deep: 100_000 },
  { name: 'v3 splits, execution_date < 2010-01-01, order asc', listing: SPLITS_V3, query: { 'execution_date.lt': '2010-01-01', order: 'asc' }, deep: 900 },
];

const request = (query: Record<string, string>): ApiRequest => ({ params: {}, query, baseUrl: 'http://127.0.0.1:8080', requestId: 'bench' });
/** The cursor of the page `offset` rows in: a next_url as the server makes it, taken from a first page. */
async function deepQuery(ctx: ApiContext, c: Case): Promise<Record<string, string>> {
  const first = await listingAnswer(c.listing)(ctx, request(c.query));
  const next = first.body['next_url'];
  if (typeof next !== 'string') throw new Error(`${c.name}: no next_url`);
  const cursor = new URL(next).searchParams.get('cursor') ?? '';
  const state = decodeCursor(cursor);
  const deep = Buffer.from(JSON.stringify({ ...state, o: c.deep })).toString('base64url');
  return { cursor: deep };
}

type Answer = (ctx: ApiContext, req: ApiRequest) => Promise<ApiAnswer>;

/** The path reference.ts had without a ticker: every stock ticker with bars and fetched actions, a getActions each, the rest in JS. */
function perTicker(c: Case): Answer {
  return async (ctx, req) => {
    let query: Record<string, string | undefined> = { ...req.query };
    let offset = 0;
    if (query['cursor'] !== undefined) {
      const state = decodeCursor(query['cursor']);
      offset = state['o'] as number;
      query = state['q'] as Record<string, string>;
    }
    const limit = parseLimit(query['limit'], c.listing.defaultLimit, c.listing.maxLimit);
    const keep = filterOf(conditionsOf(c.listing, query));
    const order = orderOf(sortKeysOf(c.listing, query));
    const all = new Set([...(await ctx.store.listSymbols('1d')), ...(await ctx.store.listSymbols('1m'))]);
    const stocks = [...all].filter((t) => !/^[A-Z]:/.test(t) && !t.startsWith('*'));
    const fetched = await ctx.store.actionsFetchedAt(stocks);
    const rows: Wire[] = [];
    for (const ticker of stocks.filter((t) => fetched.has(t)).sort()) {
      const actions = await ctx.store.getActions(ticker);
      if (actions !== undefined) for (const r of c.listing.rows(actions)) if (keep(r)) rows.push(r);
    }
    rows.sort(order);
    const body: Record<string, unknown> = { results: rows.slice(offset, offset + limit), status: 'OK', request_id: req.requestId };
    if (offset + limit < rows.length) body['next_url'] = nextUrl(req, c.listing.path, { o: offset + limit, q: query });
    return { status: 200, body };
  };
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number): number => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);

async function measure(label: string, store: Store, runs: number, paths: Record<string, (c: Case) => Answer>): Promise<Record<string, unknown>[]> {
  const ctx: ApiContext = { store, now: () => new Date(`${DAY}T22:00:00Z`) };
  const out: Record<string, unknown>[] = [];
  for (const c of CASES) {
    const pages = { first: c.query, deep: await deepQuery(ctx, c) };
    for (const [page, query] of Object.entries(pages)) {
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((p) => [p, []]));
      let rows = 0;
      for (let run = 0; run < runs; run++) {
        const bodies: string[] = [];
        for (const [name, answer] of Object.entries(paths)) {
          const t = performance.now();
          const a = await answer(c)(ctx, request(query));
          times[name]?.push(performance.now() - t);
          if (a.status !== 200) throw new Error(`${label} ${c.name} ${page}: ${JSON.stringify(a.body)}`);
          rows = (a.body['results'] as unknown[]).length;
          bodies.push(JSON.stringify(a.body));
        }
        if (new Set(bodies).size !== 1) throw new Error(`${label} ${c.name} ${page}: the paths answer differently`);
      }
      const medians = Object.fromEntries(Object.entries(times).map(([p, xs]) => [p, round(median(xs))]));
      const row = { store: label, case: c.name, page, rows, runs, medianMs: medians, ms: Object.fromEntries(Object.entries(times).map(([p, xs]) => [p, xs.map(round)])) };
      log(`${label} | ${c.name} | ${page} (${rows} rows): ${Object.entries(medians).map(([p, m]) => `${p} ${m} ms`).join(', ')}`);
      out.push(row);
    }
  }
  return out;
}

const job: JobSpec = { job: `all/1d`, dataset: DATASET, interval: '1d', tickers: [allScope(DATASET)], all: true };
const file: CompletedFile = { job, file: { key: `bench/1d/${DAY}.csv.gz`, day: DAY, size: 1, etag: 'e', lastModified: undefined }, rows: [], columns: dayBars };
const actions = market();
const fetchedAt = new Date().toISOString();
const PATHS = { perTicker, listActions: (c: Case) => listingAnswer(c.listing) };

const results: Record<string, unknown>[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'pmd-listings-'));
try {
  const sqlite = openSqliteStore(dir);
  await sqlite.prepareJob(job, { clear: false });
  sqlite.commitNow([file]);
  await sqlite.replaceAllActions(actions, fetchedAt);
  results.push(...(await measure('SQLite', sqlite, RUNS, PATHS)));
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (PG_RUNS > 0) {
  const pg = await startPostgres();
  try {
    const url = await pg.freshDatabase();
    const store = await openPostgresStore(url);
    const db = new Db(url, 1);
    await completeFiles(db, 1, [file]);
    await db.end();
    await store.replaceAllActions(actions, fetchedAt);
    results.push(...(await measure('PostgreSQL', store, PG_RUNS, PATHS)));
    await store.close();
  } finally {
    await pg.close();
  }
}

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // not a checkout
}
const splits = [...actions.values()].reduce((n, a) => n + a.splits.length, 0);
const dividends = [...actions.values()].reduce((n, a) => n + a.dividends.length, 0);
const result = { date: new Date().toISOString(), commit, tickers: listed.length, splits, dividends, results };
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
