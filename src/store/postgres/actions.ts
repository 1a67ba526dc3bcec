// Corporate actions in the shared store: a ticker's rows replaced whole, with the time they were
// fetched, in one transaction for the whole fetch (nothing half-stored). The whole market's listing
// (`actions --all`) is one row of actions_market, standing for every stock ticker, listed or not,
// including tickers whose bars arrive later; a ticker's own fetch newer than it wins, and the newer
// of the two is its fetch time (as in the SQLite cache, sqlite/actions.ts).
import type { CorporateActions, DividendRow, Split, SplitRow } from '../../corporate-actions.js';
import { toDividend, toSplit } from '../../corporate-actions.js';
import { listActionsSql, type ActionKind, type ActionListQuery, type ActionSqlDialect, type ListedActions } from '../action-listing.js';
import { isStockTicker } from '../scope.js';
import type { StoredActions } from '../types.js';
import { execute, type Db } from './db.js';
import {
  deleteAllActionsBut,
  deleteDividends,
  deleteSplits,
  dividendsOf,
  fetchedAfter,
  fetchedAt,
  insertDividends,
  insertSplits,
  markFetched,
  markMarketFetched,
  marketFetchedAt,
  splitsAfter as splitRowsAfter,
  splitsOf,
} from './sql/actions.js';
import { lockActions } from './sql/locks.js';
import { notifyChanged } from './sql/notify.js';

export async function replaceActions(db: Db, actions: ReadonlyMap<string, CorporateActions>, at: string): Promise<void> {
  if (actions.size === 0) return;
  const tickers = [...actions.keys()];
  const splits = [...actions.values()].flatMap((a) => a.splits);
  const dividends = [...actions.values()].flatMap((a) => a.dividends);
  await db.transaction(async (c) => {
    // One replacement at a time: two processes refreshing the same ticker at once would each
    // delete before the other's insert committed, and both inserts would stay.
    await lockActions(c);
    await deleteSplits(c, tickers);
    await deleteDividends(c, tickers);
    await insertSplits(c, splits);
    await insertDividends(c, dividends);
    await markFetched(c, tickers, at);
    await notifyChanged(c);
  });
}

/** The market whose listing actions_market records: the only one with corporate actions. */
const STOCKS = 'us_stocks';
/** Rows per INSERT of a market-wide replacement: the whole market is ~10^5 to 10^6 rows, sent in parts. */
const INSERT_ROWS = 10_000;

export async function replaceAllActions(db: Db, actions: ReadonlyMap<string, CorporateActions>, at: string): Promise<void> {
  await db.transaction(async (c) => {
    await lockActions(c);
    const kept = await fetchedAfter(c, at);
    const keep = new Set(kept);
    await deleteAllActionsBut(c, kept);
    const listed = [...actions].filter(([t]) => !keep.has(t) && isStockTicker(t)).map(([, a]) => a);
    const splits = listed.flatMap((a) => a.splits);
    const dividends = listed.flatMap((a) => a.dividends);
    for (let i = 0; i < splits.length; i += INSERT_ROWS) await insertSplits(c, splits.slice(i, i + INSERT_ROWS));
    for (let i = 0; i < dividends.length; i += INSERT_ROWS) await insertDividends(c, dividends.slice(i, i + INSERT_ROWS));
    await markMarketFetched(c, STOCKS, at);
    await notifyChanged(c);
  });
}

export async function allActionsFetchedAt(db: Db): Promise<string | undefined> {
  return (await marketFetchedAt(db, STOCKS))?.toISOString();
}

export async function getActions(db: Db, ticker: string): Promise<StoredActions | undefined> {
  const at = (await actionsFetchedAt(db, [ticker])).get(ticker);
  if (at === undefined) return undefined;
  const splits = await splitsOf(db, ticker);
  const dividends = await dividendsOf(db, ticker);
  return { splits: splits.map(toSplit), dividends: dividends.map(toDividend), fetchedAt: at };
}

export async function actionsFetchedAt(db: Db, tickers: readonly string[]): Promise<Map<string, string>> {
  const rows = await fetchedAt(db, tickers);
  const own = new Map(rows.map((r) => [r.ticker, r.fetched_at]));
  const market = tickers.some(isStockTicker) ? await marketFetchedAt(db, STOCKS) : undefined;
  const out = new Map<string, string>();
  for (const t of tickers) {
    const mine = own.get(t);
    const all = isStockTicker(t) ? market : undefined;
    const at = mine === undefined ? all : all === undefined || mine >= all ? mine : all;
    if (at !== undefined) out.set(t, at.toISOString());
  }
  return out;
}

export async function splitsAfter(db: Db, day: string): Promise<Map<string, Split[]>> {
  const out = new Map<string, Split[]>();
  for (const r of await splitRowsAfter(db, day)) {
    const s = toSplit(r);
    const list = out.get(s.ticker);
    if (list) list.push(s);
    else out.set(s.ticker, [s]);
  }
  return out;
}

/**
 * Text compared in code-unit order whatever the database's collation ("C": bytes of UTF-8); values
 * cast, since one statement's text serves any filter (unnamed: prepared per call).
 */
const DIALECT: ActionSqlDialect = {
  param: (i, type) => `$${i}::${type === 'text' ? 'text' : type === 'integer' ? 'bigint' : 'float8'}`,
  collate: ' COLLATE "C"',
  isStock: `NOT (ticker ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZ]:' OR left(ticker, 1) = '*')`,
  market: STOCKS,
};

export async function listActions<K extends ActionKind>(db: Db, kind: K, query: ActionListQuery): Promise<ListedActions[K]> {
  const rows = await execute<SplitRow & DividendRow>(db, listActionsSql(kind, query, DIALECT));
  return (kind === 'splits' ? rows.map(toSplit) : rows.map(toDividend)) as ListedActions[K];
}
