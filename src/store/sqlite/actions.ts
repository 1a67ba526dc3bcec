// Corporate actions in the SQLite cache: the provider's rows as given, and when each ticker's
// were fetched. A ticker's actions are replaced whole, in one transaction, never merged: the
// provider corrects and removes rows, and a half-replaced set would adjust wrongly.
//
// The whole market's listing (`actions --all`) is one row of actions_market instead of ~11,000 of
// actions_fetched: it stands for every stock ticker, those it listed and those it did not (no
// actions), including tickers whose bars arrive later. A ticker's own fetch newer than it wins
// (its rows are kept by the market-wide replacement); the newer of the two is its fetch time.
import { toDividend, toSplit, type CorporateActions, type DividendRow, type Split, type SplitRow } from '../../corporate-actions.js';
import { listActionsSql, type ActionKind, type ActionListQuery, type ActionSqlDialect, type ListedActions } from '../action-listing.js';
import { isStockTicker } from '../scope.js';
import type { StoredActions } from '../types.js';
import type { Db } from './db.js';

export class ActionStore {
  readonly #db: Db;
  readonly #replace: (actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string) => void;
  readonly #replaceAll: (actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string) => void;

  constructor(db: Db) {
    this.#db = db;
    const delSplits = db.prepare('DELETE FROM splits WHERE ticker = ?');
    const delDividends = db.prepare('DELETE FROM dividends WHERE ticker = ?');
    const addSplit = db.prepare(
      `INSERT INTO splits (ticker, execution_date, split_from, split_to, adjustment_type, historical_adjustment_factor, id)
       VALUES (@ticker, @executionDate, @splitFrom, @splitTo, @adjustmentType, @historicalAdjustmentFactor, @id)`,
    );
    const addDividend = db.prepare(
      `INSERT INTO dividends (ticker, ex_dividend_date, cash_amount, currency, distribution_type, frequency, pay_date, record_date,
         declaration_date, split_adjusted_cash_amount, historical_adjustment_factor, id)
       VALUES (@ticker, @exDividendDate, @cashAmount, @currency, @distributionType, @frequency, @payDate, @recordDate,
         @declarationDate, @splitAdjustedCashAmount, @historicalAdjustmentFactor, @id)`,
    );
    const fetched = db.prepare(
      `INSERT INTO actions_fetched (ticker, fetched_at) VALUES (?, ?)
       ON CONFLICT (ticker) DO UPDATE SET fetched_at = excluded.fetched_at`,
    );
    this.#replace = db.transaction((actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string) => {
      for (const [ticker, a] of actions) {
        delSplits.run(ticker);
        delDividends.run(ticker);
        for (const s of a.splits) addSplit.run({ ...s, ticker });
        for (const d of a.dividends) addDividend.run({ ...d, ticker });
        fetched.run(ticker, fetchedAt);
      }
    });
    // Tickers fetched on their own after the market-wide listing keep their rows (and their time).
    const newer = db.prepare<[string], { ticker: string }>('SELECT ticker FROM actions_fetched WHERE fetched_at > ?');
    const keep = 'WHERE ticker NOT IN (SELECT ticker FROM actions_fetched WHERE fetched_at > ?)';
    const delAllSplits = db.prepare(`DELETE FROM splits ${keep}`);
    const delAllDividends = db.prepare(`DELETE FROM dividends ${keep}`);
    const market = db.prepare(
      `INSERT INTO actions_market (market, fetched_at) VALUES (?, ?)
       ON CONFLICT (market) DO UPDATE SET fetched_at = excluded.fetched_at`,
    );
    this.#replaceAll = db.transaction((actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string) => {
      const kept = new Set(newer.all(fetchedAt).map((r) => r.ticker));
      delAllSplits.run(fetchedAt);
      delAllDividends.run(fetchedAt);
      for (const [ticker, a] of actions) {
        if (kept.has(ticker) || !isStockTicker(ticker)) continue;
        for (const s of a.splits) addSplit.run({ ...s, ticker });
        for (const d of a.dividends) addDividend.run({ ...d, ticker });
      }
      market.run(STOCKS, fetchedAt);
    });
  }

  /** Replaces the actions of every ticker in `actions`, all in one transaction. */
  replace(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): void {
    this.#replace(actions, fetchedAt);
  }

  /** Replaces every stock ticker's actions with the whole market's listing, in one transaction (Store.replaceAllActions). */
  replaceAll(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): void {
    this.#replaceAll(actions, fetchedAt);
  }

  /** When the whole market's listing was stored; undefined when never. */
  allFetchedAt(): string | undefined {
    return this.#db.prepare<[string], { fetched_at: string }>('SELECT fetched_at FROM actions_market WHERE market = ?').get(STOCKS)?.fetched_at;
  }

  /** A ticker's stored actions, oldest first; undefined when they were never fetched. */
  get(ticker: string): StoredActions | undefined {
    const at = this.fetchedAt([ticker]).get(ticker);
    if (at === undefined) return undefined;
    const splits = this.#db
      .prepare<[string], SplitRow>('SELECT * FROM splits WHERE ticker = ? ORDER BY execution_date, id')
      .all(ticker)
      .map(toSplit);
    const dividends = this.#db
      .prepare<[string], DividendRow>('SELECT * FROM dividends WHERE ticker = ? ORDER BY ex_dividend_date, id')
      .all(ticker)
      .map(toDividend);
    return { splits, dividends, fetchedAt: at };
  }

  /** When each of `tickers` had its actions fetched (the newer of its own fetch and the market's); tickers never fetched are absent. */
  fetchedAt(tickers: readonly string[]): Map<string, string> {
    const q = this.#db.prepare<[string], { fetched_at: string }>('SELECT fetched_at FROM actions_fetched WHERE ticker = ?');
    const market = this.allFetchedAt();
    const out = new Map<string, string>();
    for (const t of tickers) {
      const own = q.get(t)?.fetched_at;
      const all = market !== undefined && isStockTicker(t) ? market : undefined;
      const at = newest(own, all);
      if (at !== undefined) out.set(t, at);
    }
    return out;
  }

  /** Store.listActions: one statement (action-listing.ts). */
  list<K extends ActionKind>(kind: K, query: ActionListQuery): ListedActions[K] {
    const { text, values } = listActionsSql(kind, query, DIALECT);
    const rows = this.#db.prepare<unknown[], SplitRow & DividendRow>(text).all(...values);
    return (kind === 'splits' ? rows.map(toSplit) : rows.map(toDividend)) as ListedActions[K];
  }

  /** Every stored split executed after `day`, by ticker (Store.splitsAfter). */
  splitsAfter(day: string): Map<string, Split[]> {
    const out = new Map<string, Split[]>();
    const rows = this.#db.prepare<[string], SplitRow>('SELECT * FROM splits WHERE execution_date > ? ORDER BY ticker, execution_date, id').all(day);
    for (const r of rows) {
      const s = toSplit(r);
      const list = out.get(s.ticker);
      if (list) list.push(s);
      else out.set(s.ticker, [s]);
    }
    return out;
  }
}

/** The market whose listing actions_market records: the only one with corporate actions. */
const STOCKS = 'us_stocks';

/** SQLite compares text as bytes of UTF-8 (BINARY): code-unit order for the ASCII of tickers, dates and ids. */
const DIALECT: ActionSqlDialect = {
  param: () => '?',
  collate: '',
  isStock: "NOT (ticker GLOB '[ABCDEFGHIJKLMNOPQRSTUVWXYZ]:*' OR ticker GLOB '[*]*')",
  market: STOCKS,
};

/** The later of two ISO times (both written by toISOString, so they compare as text). */
function newest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
