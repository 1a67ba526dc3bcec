// Corporate actions in the SQLite cache: the provider's rows as given, and when each ticker's
// were fetched. A ticker's actions are replaced whole, in one transaction, never merged: the
// provider corrects and removes rows, and a half-replaced set would adjust wrongly.
import { toDividend, toSplit, type CorporateActions, type DividendRow, type SplitRow } from '../../corporate-actions.js';
import type { StoredActions } from '../types.js';
import type { Db } from './db.js';

export class ActionStore {
  readonly #db: Db;
  readonly #replace: (actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string) => void;

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
  }

  /** Replaces the actions of every ticker in `actions`, all in one transaction. */
  replace(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): void {
    this.#replace(actions, fetchedAt);
  }

  /** A ticker's stored actions, oldest first; undefined when they were never fetched. */
  get(ticker: string): StoredActions | undefined {
    const at = this.#db.prepare<[string], { fetched_at: string }>('SELECT fetched_at FROM actions_fetched WHERE ticker = ?').get(ticker);
    if (at === undefined) return undefined;
    const splits = this.#db
      .prepare<[string], SplitRow>('SELECT * FROM splits WHERE ticker = ? ORDER BY execution_date, id')
      .all(ticker)
      .map(toSplit);
    const dividends = this.#db
      .prepare<[string], DividendRow>('SELECT * FROM dividends WHERE ticker = ? ORDER BY ex_dividend_date, id')
      .all(ticker)
      .map(toDividend);
    return { splits, dividends, fetchedAt: at.fetched_at };
  }

  /** When each of `tickers` had its actions fetched; tickers never fetched are absent. */
  fetchedAt(tickers: readonly string[]): Map<string, string> {
    const q = this.#db.prepare<[string], { fetched_at: string }>('SELECT fetched_at FROM actions_fetched WHERE ticker = ?');
    const out = new Map<string, string>();
    for (const t of tickers) {
      const r = q.get(t);
      if (r) out.set(t, r.fetched_at);
    }
    return out;
  }
}

