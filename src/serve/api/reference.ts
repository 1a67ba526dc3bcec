// Splits and dividends from the stored corporate actions, in the provider's shapes:
// `/stocks/v1/splits`, `/stocks/v1/dividends` and the older `/v3/reference/splits`,
// `/v3/reference/dividends`, with their documented filters (`ticker`, `ticker.any_of`, `.gt`,
// `.gte`, `.lt`, `.lte` on the ticker, dates and numbers), `sort`, `limit` and `next_url` paging.
//
// Which tickers: those named by `ticker` / `ticker.any_of` (each must have stored actions, else
// an error naming the `actions` command: an empty list would claim it has none), read one by one;
// or else every stock ticker whose actions were fetched, on its own or by `actions --all` (a
// listing of what is stored), read in one Store.listActions that filters, sorts and pages in the
// database: a whole market's ~11,000 tickers were a getActions each, seconds a page (bench/stores/listings.ts).
import type { Dividend, Split } from '../../corporate-actions.js';
import type { ActionColumn, ActionCondition, ActionKind, ActionListQuery, ActionSortKey } from '../../store/action-listing.js';
import type { Store } from '../../store/types.js';
import { bad, decodeCursor, nextUrl, parseDate, parseLimit } from './params.js';
import { fromApiTicker } from './tickers.js';
import { ApiError, type ApiAnswer, type ApiContext, type ApiRequest } from './types.js';

/** A row as the endpoint sends it. */
export type Wire = Record<string, string | number>;
type Kind = 'ticker' | 'date' | 'number' | 'enum';

export interface Listing {
  path: string;
  /** Filterable fields of a wire row and how their values compare. */
  filters: Record<string, Kind>;
  /** Default `sort` (`field.asc|desc`, or a bare field with `order` for v3). */
  sort: string;
  defaultLimit: number;
  maxLimit: number;
  /** v3: `sort` names a field and `order` its direction. */
  v3: boolean;
  kind: ActionKind;
  rows(actions: { splits: Split[]; dividends: Dividend[] }): Wire[];
  /**
   * The stored column each filterable field is read from, where the store can filter and sort on
   * it (Store.listActions); a field missing here (v3's `dividend_type`, made from the v1
   * `distribution_type`) makes the store return the kind's rows, filtered and sorted here.
   */
  columns: Partial<Record<string, ActionColumn>>;
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
function listing(path: string, filters: Listing['filters'], sort: string, v3: boolean, kind: ActionKind, rows: Listing['rows'], columns?: Listing['columns']): Listing {
  // Every field but these is its stored column under the same name.
  const same = Object.fromEntries(Object.keys(filters).map((f) => [f, { name: f }]));
  return { path, filters, sort, defaultLimit: v3 ? 10 : 100, maxLimit: v3 ? 1_000 : 5_000, v3, kind, rows, columns: { ...same, ...columns } };
}

export const SPLITS_V1 = listing('/stocks/v1/splits', { ticker: 'ticker', execution_date: 'date', adjustment_type: 'enum' }, 'execution_date.desc', false, 'splits', (a) =>
  a.splits.map(splitWire),
);

export const DIVIDENDS_V1 = listing(
  '/stocks/v1/dividends',
  { ticker: 'ticker', ex_dividend_date: 'date', frequency: 'number', distribution_type: 'enum' },
  'ticker.asc',
  false,
  'dividends',
  (a) => a.dividends.map(dividendWire),
);

export const SPLITS_V3 = listing('/v3/reference/splits', { ticker: 'ticker', execution_date: 'date' }, 'execution_date', true, 'splits', (a) =>
  a.splits.map((s) => ({ execution_date: s.executionDate, id: s.id, split_from: s.splitFrom, split_to: s.splitTo, ticker: s.ticker })),
);

export const DIVIDENDS_V3 = listing(
  '/v3/reference/dividends',
  { ticker: 'ticker', ex_dividend_date: 'date', record_date: 'date', declaration_date: 'date', pay_date: 'date', frequency: 'number', cash_amount: 'number', dividend_type: 'enum' },
  'ex_dividend_date',
  true,
  'dividends',
  (a) => a.dividends.map(v3Dividend),
  { frequency: { name: 'frequency', ifNull: 0 }, dividend_type: undefined },
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
    const conditions = conditionsOf(listing, query);
    const keys = sortKeysOf(listing, query);
    const named = await namedTickers(ctx.store, query);
    let page: Wire[];
    let more: boolean;
    if (named === undefined) {
      ({ page, more } = await everyTicker(ctx.store, listing, conditions, keys, offset, limit));
    } else {
      const keep = filterOf(conditions);
      const rows: Wire[] = [];
      for (const ticker of named) {
        const actions = await ctx.store.getActions(ticker);
        if (actions !== undefined) for (const r of listing.rows(actions)) if (keep(r)) rows.push(r);
      }
      rows.sort(orderOf(keys));
      page = rows.slice(offset, offset + limit);
      more = offset + limit < rows.length;
    }
    const body: Record<string, unknown> = { results: page, status: 'OK', request_id: req.requestId };
    if (more) body['next_url'] = nextUrl(req, listing.path, { o: offset + limit, q: query });
    return { status: 200, body };
  };
}

/**
 * One page of every fetched stock ticker's rows, in one store read: filters, sort and the page in
 * the database when every field they name is a stored column (a row more than the page says
 * whether another follows); else the kind's rows under the filters it can take, the rest here.
 */
async function everyTicker(store: Store, listing: Listing, conditions: readonly Condition[], keys: readonly SortKey[], offset: number, limit: number): Promise<{ page: Wire[]; more: boolean }> {
  const where: ActionCondition[] = [];
  for (const c of conditions) {
    const column = listing.columns[c.field];
    if (column !== undefined) where.push({ column, op: SQL_OPS[c.op], values: c.values });
  }
  const order = keys.map((k) => ({ column: listing.columns[k.field], desc: k.dir < 0 }));
  const sorted = order.every((k): k is ActionSortKey => k.column !== undefined);
  if (where.length === conditions.length && sorted) {
    const rows = listing.rows(await actionsOf(store, listing.kind, { where, order, page: { offset, limit: limit + 1 } }));
    return { page: rows.slice(0, limit), more: rows.length > limit };
  }
  const keep = filterOf(conditions);
  const rows = listing.rows(await actionsOf(store, listing.kind, { where })).filter(keep);
  rows.sort(orderOf(keys));
  return { page: rows.slice(offset, offset + limit), more: offset + limit < rows.length };
}

async function actionsOf(store: Store, kind: ActionKind, q: ActionListQuery): Promise<{ splits: Split[]; dividends: Dividend[] }> {
  return kind === 'splits' ? { splits: await store.listActions('splits', q), dividends: [] } : { splits: [], dividends: await store.listActions('dividends', q) };
}

/** The stock tickers a query names (checked: each must have stored actions); undefined when it names none. */
async function namedTickers(store: Store, query: Record<string, string | undefined>): Promise<string[] | undefined> {
  const named = query['ticker'] !== undefined ? [query['ticker']] : query['ticker.any_of']?.split(',');
  if (named === undefined) return undefined;
  const tickers = [...new Set(named.map((n) => fromApiTicker(n.trim())).filter((t) => t.assetClass === 'stock').map((t) => t.ticker))];
  const fetched = await store.actionsFetchedAt(tickers);
  const missing = tickers.filter((t) => !fetched.has(t));
  if (missing.length > 0) {
    throw new ApiError(404, `The corporate actions of ${missing.slice(0, 5).join(', ')} are not stored: fetch them with \`preload-market-data actions ${missing[0] ?? ''}\` (MASSIVE_API_KEY set)`);
  }
  return tickers;
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
const SQL_OPS = { '': '=', '.gt': '>', '.gte': '>=', '.lt': '<', '.lte': '<=', '.any_of': 'in' } as const;

/** One `field`, `field.gt`, ... parameter, its values checked. */
export interface Condition {
  field: string;
  op: (typeof OPS)[number];
  values: Array<string | number>;
}

/** The conditions of a query's `field`, `field.gt`, ... parameters (checked). */
export function conditionsOf(listing: Listing, query: Record<string, string | undefined>): Condition[] {
  const out: Condition[] = [];
  for (const [field, kind] of Object.entries(listing.filters)) {
    for (const op of OPS) {
      const name = `${field}${op}`;
      const raw = query[name];
      if (raw === undefined) continue;
      out.push({ field, op, values: (op === '.any_of' ? raw.split(',') : [raw]).map((v) => valueOf(name, v.trim(), kind)) });
    }
  }
  return out;
}

/** The row filter of a query's conditions: a row without the field passes no filter on it. */
export function filterOf(conditions: readonly Condition[]): (r: Wire) => boolean {
  const tests = conditions.map(({ field, op, values }) => {
    const first = values[0] as string | number;
    const cmp = (v: string | number): number => (typeof v === 'number' ? v - Number(first) : v < String(first) ? -1 : v > String(first) ? 1 : 0);
    const keeps = OP_TESTS[op];
    return (r: Wire): boolean => {
      const v = r[field];
      if (v === undefined) return false;
      return op === '.any_of' ? values.some((x) => String(x) === String(v)) : keeps(cmp(v));
    };
  });
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

/** A sort key: a field and its direction (1 ascending, -1 descending). */
export interface SortKey {
  field: string;
  dir: number;
}

/** The keys of `sort` (v1: `field.dir[,field.dir]`; v3: `sort=field&order=dir`), checked; ties by ticker then id follow. */
export function sortKeysOf(listing: Listing, query: Record<string, string | undefined>): SortKey[] {
  const keys: SortKey[] = [];
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
  return keys;
}

/** The comparator of sort keys, ties by ticker then id; rows without a key's field after those with it. */
export function orderOf(sortKeys: readonly SortKey[]): (a: Wire, b: Wire) => number {
  const keys = [...sortKeys, { field: 'ticker', dir: 1 }, { field: 'id', dir: 1 }];
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
