// Splits and dividends from the stored corporate actions, in the provider's shapes:
// `/stocks/v1/splits`, `/stocks/v1/dividends` and the older `/v3/reference/splits`,
// `/v3/reference/dividends`, with their documented filters (`ticker`, `ticker.any_of`, `.gt`,
// `.gte`, `.lt`, `.lte` on the ticker, dates and numbers), `sort`, `limit` and `next_url` paging.
//
// Which tickers: those named by `ticker` / `ticker.any_of` (each must have stored actions, else
// an error naming the `actions` command: an empty list would claim it has none), or else every
// stock ticker of the store whose actions were fetched (a listing of what is stored, not the
// provider's whole market).
import type { Dividend, Split } from '../../corporate-actions.js';
import type { Store } from '../../store/types.js';
import { bad, decodeCursor, nextUrl, parseDate, parseLimit } from './params.js';
import { fromApiTicker } from './tickers.js';
import { ApiError, type ApiAnswer, type ApiContext, type ApiRequest } from './types.js';

type Wire = Record<string, string | number>;
type Kind = 'ticker' | 'date' | 'number' | 'enum';

interface Listing {
  path: string;
  /** Filterable fields of a wire row and how their values compare. */
  filters: Record<string, Kind>;
  /** Default `sort` (`field.asc|desc`, or a bare field with `order` for v3). */
  sort: string;
  defaultLimit: number;
  maxLimit: number;
  /** v3: `sort` names a field and `order` its direction. */
  v3: boolean;
  rows(actions: { splits: Split[]; dividends: Dividend[] }): Wire[];
}

const ORDERS = ['asc', 'desc'];

function splitWire(s: Split): Wire {
  const w: Wire = { adjustment_type: s.adjustmentType, execution_date: s.executionDate };
  if (s.historicalAdjustmentFactor !== null) w['historical_adjustment_factor'] = s.historicalAdjustmentFactor;
  return Object.assign(w, { id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: s.ticker });
}

function dividendWire(d: Dividend): Wire {
  const w: Wire = { cash_amount: d.cashAmount };
  const optional: Array<[string, string | number | null]> = [
    ['currency', d.currency],
    ['declaration_date', d.declarationDate],
    ['distribution_type', d.distributionType],
  ];
  for (const [k, v] of optional) if (v !== null) w[k] = v;
  w['ex_dividend_date'] = d.exDividendDate;
  if (d.frequency !== null) w['frequency'] = d.frequency;
  if (d.historicalAdjustmentFactor !== null) w['historical_adjustment_factor'] = d.historicalAdjustmentFactor;
  w['id'] = d.id;
  if (d.payDate !== null) w['pay_date'] = d.payDate;
  if (d.recordDate !== null) w['record_date'] = d.recordDate;
  if (d.splitAdjustedCashAmount !== null) w['split_adjusted_cash_amount'] = d.splitAdjustedCashAmount;
  w['ticker'] = d.ticker;
  return w;
}

/** v3's `dividend_type`: CD (consistent), SC (special); the v1 `distribution_type` it is read from. */
function v3Dividend(d: Dividend): Wire {
  const out: Wire = { cash_amount: d.cashAmount };
  if (d.currency !== null) out['currency'] = d.currency;
  if (d.declarationDate !== null) out['declaration_date'] = d.declarationDate;
  out['dividend_type'] = d.distributionType === 'special' ? 'SC' : 'CD';
  out['ex_dividend_date'] = d.exDividendDate;
  out['frequency'] = d.frequency ?? 0;
  out['id'] = d.id;
  if (d.payDate !== null) out['pay_date'] = d.payDate;
  if (d.recordDate !== null) out['record_date'] = d.recordDate;
  out['ticker'] = d.ticker;
  return out;
}

/** v1 pages by 100 rows up to 5,000; v3 by 10 up to 1,000 (the provider's documented limits). */
function listing(path: string, filters: Listing['filters'], sort: string, v3: boolean, rows: Listing['rows']): Listing {
  return { path, filters, sort, defaultLimit: v3 ? 10 : 100, maxLimit: v3 ? 1_000 : 5_000, v3, rows };
}

export const SPLITS_V1 = listing('/stocks/v1/splits', { ticker: 'ticker', execution_date: 'date', adjustment_type: 'enum' }, 'execution_date.desc', false, (a) =>
  a.splits.map(splitWire),
);

export const DIVIDENDS_V1 = listing(
  '/stocks/v1/dividends',
  { ticker: 'ticker', ex_dividend_date: 'date', frequency: 'number', distribution_type: 'enum' },
  'ticker.asc',
  false,
  (a) => a.dividends.map(dividendWire),
);

export const SPLITS_V3 = listing('/v3/reference/splits', { ticker: 'ticker', execution_date: 'date' }, 'execution_date', true, (a) =>
  a.splits.map((s) => ({ execution_date: s.executionDate, id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: s.ticker })),
);

export const DIVIDENDS_V3 = listing(
  '/v3/reference/dividends',
  { ticker: 'ticker', ex_dividend_date: 'date', record_date: 'date', declaration_date: 'date', pay_date: 'date', frequency: 'number', cash_amount: 'number', dividend_type: 'enum' },
  'ex_dividend_date',
  true,
  (a) => a.dividends.map(v3Dividend),
);

/** The answer of one listing endpoint. */
export function listingAnswer(listing: Listing) {
  return async (ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> => {
    const cursor = req.query['cursor'];
    let query: Record<string, string | undefined> = { ...req.query };
    let offset = 0;
    if (cursor !== undefined) {
      const state = decodeCursor(cursor);
      if (typeof state['o'] !== 'number' || !Number.isInteger(state['o']) || state['o'] < 0 || typeof state['q'] !== 'object' || state['q'] === null) {
        throw bad('cursor', cursor, 'the cursor of a next_url this server sent');
      }
      offset = state['o'];
      query = state['q'] as Record<string, string>;
    }
    delete query['cursor'];
    // The shell takes the key out; were it left in, the cursor would carry it into next_url.
    delete query['apiKey'];
    const limit = parseLimit(query['limit'], listing.defaultLimit, listing.maxLimit);
    const keep = filterOf(listing, query);
    const order = orderOf(listing, query);
    const rows: Wire[] = [];
    for (const ticker of await tickersOf(ctx.store, query)) {
      const actions = await ctx.store.getActions(ticker);
      if (actions !== undefined) for (const r of listing.rows(actions)) if (keep(r)) rows.push(r);
    }
    rows.sort(order);
    const page = rows.slice(offset, offset + limit);
    const body: Record<string, unknown> = { results: page, status: 'OK', request_id: req.requestId };
    if (offset + limit < rows.length) body['next_url'] = nextUrl(req, listing.path, { o: offset + limit, q: query });
    return { status: 200, body };
  };
}

/** The stock tickers a query names (checked), or every stock ticker with stored actions. */
async function tickersOf(store: Store, query: Record<string, string | undefined>): Promise<string[]> {
  const named = query['ticker'] !== undefined ? [query['ticker']] : query['ticker.any_of']?.split(',');
  if (named !== undefined) {
    const tickers = [...new Set(named.map((n) => fromApiTicker(n.trim())).filter((t) => t.assetClass === 'stock').map((t) => t.ticker))];
    const fetched = await store.actionsFetchedAt(tickers);
    const missing = tickers.filter((t) => !fetched.has(t));
    if (missing.length > 0) {
      throw new ApiError(404, `The corporate actions of ${missing.slice(0, 5).join(', ')} are not stored: fetch them with \`preload-market-data actions ${missing[0] ?? ''}\` (MASSIVE_API_KEY set)`);
    }
    return tickers;
  }
  const all = new Set([...(await store.listSymbols('1d')), ...(await store.listSymbols('1m'))]);
  const stocks = [...all].filter((t) => !/^[A-Z]:/.test(t) && !t.startsWith('*'));
  const fetched = await store.actionsFetchedAt(stocks);
  return stocks.filter((t) => fetched.has(t)).sort();
}

const OPS = ['', '.gt', '.gte', '.lt', '.lte', '.any_of'] as const;
/** What each operator keeps, given the row's value compared with the parameter's (any_of: see filterOf). */
const OP_TESTS: Record<(typeof OPS)[number], (c: number) => boolean> = {
  '': (c) => c === 0,
  '.gt': (c) => c > 0,
  '.gte': (c) => c >= 0,
  '.lt': (c) => c < 0,
  '.lte': (c) => c <= 0,
  '.any_of': () => false,
};

/** The row filter of a query's `field`, `field.gt`, ... parameters (checked). */
function filterOf(listing: Listing, query: Record<string, string | undefined>): (r: Wire) => boolean {
  const tests: Array<(r: Wire) => boolean> = [];
  for (const [field, kind] of Object.entries(listing.filters)) {
    for (const op of OPS) {
      const raw = query[`${field}${op}`];
      if (raw === undefined) continue;
      const name = `${field}${op}`;
      const values = (op === '.any_of' ? raw.split(',') : [raw]).map((v) => valueOf(name, v.trim(), kind));
      const first = values[0] as string | number;
      // A row without the field passes no filter on it.
      const cmp = (v: string | number): number => (typeof v === 'number' ? v - Number(first) : v < String(first) ? -1 : v > String(first) ? 1 : 0);
      const keeps = OP_TESTS[op];
      tests.push((r) => {
        const v = r[field];
        if (v === undefined) return false;
        return op === '.any_of' ? values.some((x) => String(x) === String(v)) : keeps(cmp(v));
      });
    }
  }
  return (r) => tests.every((t) => t(r));
}

function valueOf(name: string, v: string, kind: Kind): string | number {
  switch (kind) {
    case 'date':
      // A real calendar day: 2024-02-30 would otherwise compare as a string and filter silently.
      return parseDate(name, v);
    case 'number':
      if (!/^-?\d+(\.\d+)?$/.test(v)) throw bad(name, v, 'a number');
      return Number(v);
    case 'ticker':
      return fromApiTicker(v).ticker;
    default:
      if (!/^[A-Za-z_]{1,40}$/.test(v)) throw bad(name, v, 'a word');
      return v;
  }
}

/** The comparator of `sort` (v1: `field.dir[,field.dir]`; v3: `sort=field&order=dir`), ties by ticker then id. */
function orderOf(listing: Listing, query: Record<string, string | undefined>): (a: Wire, b: Wire) => number {
  const keys: Array<{ field: string; dir: number }> = [];
  const sort = query['sort'] ?? listing.sort;
  const fields = Object.keys(listing.filters);
  if (listing.v3) {
    const order = query['order'] ?? 'desc';
    if (!ORDERS.includes(order)) throw bad('order', order, 'asc or desc');
    if (!fields.includes(sort)) throw bad('sort', sort, `one of ${fields.join(', ')}`);
    keys.push({ field: sort, dir: order === 'asc' ? 1 : -1 });
  } else {
    for (const part of sort.split(',')) {
      const [field = '', dir = 'asc'] = part.trim().split('.');
      if (!fields.includes(field) || !ORDERS.includes(dir)) throw bad('sort', sort, `field.asc or field.desc, field one of ${fields.join(', ')}`);
      keys.push({ field, dir: dir === 'asc' ? 1 : -1 });
    }
  }
  keys.push({ field: 'ticker', dir: 1 }, { field: 'id', dir: 1 });
  return (a, b) => {
    for (const { field, dir } of keys) {
      const x = a[field];
      const y = b[field];
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    }
    return 0;
  };
}

