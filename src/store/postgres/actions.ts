// Corporate actions in the shared store: a ticker's rows replaced whole, with the time they were
// fetched, in one transaction for the whole fetch (nothing half-stored).
import type { CorporateActions } from '../../corporate-actions.js';
import { toDividend, toSplit, type DividendRow, type SplitRow } from '../../corporate-actions.js';
import type { StoredActions } from '../types.js';
import type { Db } from './db.js';
import { LOCK_NAMESPACE } from './schema.js';

/** Second key of the advisory lock that serialises replacements (process ids, the other keys, are positive). */
const ACTIONS_LOCK = -1;

export async function replaceActions(db: Db, actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void> {
  if (actions.size === 0) return;
  const tickers = [...actions.keys()];
  const splits = [...actions.values()].flatMap((a) => a.splits);
  const dividends = [...actions.values()].flatMap((a) => a.dividends);
  await db.transaction(async (c) => {
    // One replacement at a time: two processes refreshing the same ticker at once would each
    // delete before the other's insert committed, and both inserts would stay.
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, ACTIONS_LOCK]);
    await c.query('DELETE FROM splits WHERE ticker = ANY($1::text[])', [tickers]);
    await c.query('DELETE FROM dividends WHERE ticker = ANY($1::text[])', [tickers]);
    await c.query(
      `INSERT INTO splits (ticker, execution_date, split_from, split_to, adjustment_type, historical_adjustment_factor, id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::float8[], $7::text[])`,
      [
        splits.map((s) => s.ticker),
        splits.map((s) => s.executionDate),
        splits.map((s) => s.splitFrom),
        splits.map((s) => s.splitTo),
        splits.map((s) => s.adjustmentType),
        splits.map((s) => s.historicalAdjustmentFactor),
        splits.map((s) => s.id),
      ],
    );
    await c.query(
      `INSERT INTO dividends (ticker, ex_dividend_date, cash_amount, currency, distribution_type, frequency, pay_date, record_date,
         declaration_date, split_adjusted_cash_amount, historical_adjustment_factor, id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[],
         $9::text[], $10::float8[], $11::float8[], $12::text[])`,
      [
        dividends.map((d) => d.ticker),
        dividends.map((d) => d.exDividendDate),
        dividends.map((d) => d.cashAmount),
        dividends.map((d) => d.currency),
        dividends.map((d) => d.distributionType),
        dividends.map((d) => d.frequency),
        dividends.map((d) => d.payDate),
        dividends.map((d) => d.recordDate),
        dividends.map((d) => d.declarationDate),
        dividends.map((d) => d.splitAdjustedCashAmount),
        dividends.map((d) => d.historicalAdjustmentFactor),
        dividends.map((d) => d.id),
      ],
    );
    await c.query(
      `INSERT INTO actions_fetched (ticker, fetched_at) SELECT unnest($1::text[]), $2::timestamptz
       ON CONFLICT (ticker) DO UPDATE SET fetched_at = excluded.fetched_at`,
      [tickers, fetchedAt],
    );
  });
}

export async function getActions(db: Db, ticker: string): Promise<StoredActions | undefined> {
  const [at] = await db.query<{ fetched_at: Date }>('SELECT fetched_at FROM actions_fetched WHERE ticker = $1', [ticker]);
  if (at === undefined) return undefined;
  const splits = await db.query<SplitRow>('SELECT * FROM splits WHERE ticker = $1 ORDER BY execution_date, id', [ticker]);
  const dividends = await db.query<DividendRow>('SELECT * FROM dividends WHERE ticker = $1 ORDER BY ex_dividend_date, id', [ticker]);
  return { splits: splits.map(toSplit), dividends: dividends.map(toDividend), fetchedAt: at.fetched_at.toISOString() };
}

export async function actionsFetchedAt(db: Db, tickers: readonly string[]): Promise<Map<string, string>> {
  const rows = await db.query<{ ticker: string; fetched_at: Date }>('SELECT ticker, fetched_at FROM actions_fetched WHERE ticker = ANY($1::text[])', [
    [...tickers],
  ]);
  return new Map(rows.map((r) => [r.ticker, r.fetched_at.toISOString()]));
}
