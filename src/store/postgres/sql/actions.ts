// Corporate actions in the shared store: a ticker's splits and dividends as the provider gave
// them, and when they were fetched.
import type { Dividend, DividendRow, Split, SplitRow } from '../../../corporate-actions.js';
import { execute, type Queryable } from '../db.js';

export async function deleteSplits(c: Queryable, tickers: readonly string[]): Promise<void> {
  await execute(c, { name: 'pmd_delete_splits', text: 'DELETE FROM splits WHERE ticker = ANY($1::text[])', values: [[...tickers]] });
}

export async function deleteDividends(c: Queryable, tickers: readonly string[]): Promise<void> {
  await execute(c, { name: 'pmd_delete_dividends', text: 'DELETE FROM dividends WHERE ticker = ANY($1::text[])', values: [[...tickers]] });
}

export async function insertSplits(c: Queryable, splits: readonly Split[]): Promise<void> {
  await execute(c, {
    name: 'pmd_insert_splits',
    text: `INSERT INTO splits (ticker, execution_date, split_from, split_to, adjustment_type, historical_adjustment_factor, id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::float8[], $7::text[])`,
    values: [
      splits.map((s) => s.ticker),
      splits.map((s) => s.executionDate),
      splits.map((s) => s.splitFrom),
      splits.map((s) => s.splitTo),
      splits.map((s) => s.adjustmentType),
      splits.map((s) => s.historicalAdjustmentFactor),
      splits.map((s) => s.id),
    ],
  });
}

export async function insertDividends(c: Queryable, dividends: readonly Dividend[]): Promise<void> {
  await execute(c, {
    name: 'pmd_insert_dividends',
    text: `INSERT INTO dividends (ticker, ex_dividend_date, cash_amount, currency, distribution_type, frequency, pay_date, record_date,
         declaration_date, split_adjusted_cash_amount, historical_adjustment_factor, id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[],
         $9::text[], $10::float8[], $11::float8[], $12::text[])`,
    values: [
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
  });
}

/** Records when the tickers' actions were fetched. */
export async function markFetched(c: Queryable, tickers: readonly string[], fetchedAt: string): Promise<void> {
  await execute(c, {
    name: 'pmd_mark_fetched',
    text: `INSERT INTO actions_fetched (ticker, fetched_at) SELECT unnest($1::text[]), $2::timestamptz
       ON CONFLICT (ticker) DO UPDATE SET fetched_at = excluded.fetched_at`,
    values: [[...tickers], fetchedAt],
  });
}

/** When each of `tickers` had its actions fetched (those never fetched are absent). */
export async function fetchedAt(db: Queryable, tickers: readonly string[]): Promise<{ ticker: string; fetched_at: Date }[]> {
  return execute(db, { name: 'pmd_fetched_at', text: 'SELECT ticker, fetched_at FROM actions_fetched WHERE ticker = ANY($1::text[])', values: [[...tickers]] });
}

export async function splitsOf(db: Queryable, ticker: string): Promise<SplitRow[]> {
  return execute<SplitRow>(db, { name: 'pmd_splits_of', text: 'SELECT * FROM splits WHERE ticker = $1 ORDER BY execution_date, id', values: [ticker] });
}

export async function dividendsOf(db: Queryable, ticker: string): Promise<DividendRow[]> {
  return execute<DividendRow>(db, { name: 'pmd_dividends_of', text: 'SELECT * FROM dividends WHERE ticker = $1 ORDER BY ex_dividend_date, id', values: [ticker] });
}

/** Tickers whose own fetch is newer than `at`: a market-wide replacement at `at` keeps their rows. */
export async function fetchedAfter(c: Queryable, at: string): Promise<string[]> {
  const rows = await execute<{ ticker: string }>(c, { name: 'pmd_fetched_after', text: 'SELECT ticker FROM actions_fetched WHERE fetched_at > $1::timestamptz', values: [at] });
  return rows.map((r) => r.ticker);
}

/** Deletes every ticker's splits and dividends but those of `kept`. */
export async function deleteAllActionsBut(c: Queryable, kept: readonly string[]): Promise<void> {
  await execute(c, { name: 'pmd_delete_all_splits', text: 'DELETE FROM splits WHERE NOT (ticker = ANY($1::text[]))', values: [[...kept]] });
  await execute(c, { name: 'pmd_delete_all_dividends', text: 'DELETE FROM dividends WHERE NOT (ticker = ANY($1::text[]))', values: [[...kept]] });
}

/** Records when `market`'s whole listing was stored. */
export async function markMarketFetched(c: Queryable, market: string, at: string): Promise<void> {
  await execute(c, {
    name: 'pmd_mark_market_fetched',
    text: `INSERT INTO actions_market (market, fetched_at) VALUES ($1, $2::timestamptz)
       ON CONFLICT (market) DO UPDATE SET fetched_at = excluded.fetched_at`,
    values: [market, at],
  });
}

/** When `market`'s whole listing was stored, if ever. */
export async function marketFetchedAt(db: Queryable, market: string): Promise<Date | undefined> {
  const [row] = await execute<{ fetched_at: Date }>(db, { name: 'pmd_market_fetched_at', text: 'SELECT fetched_at FROM actions_market WHERE market = $1', values: [market] });
  return row?.fetched_at;
}

/** Every split executed after `day`, of every ticker, by ticker then date. */
export async function splitsAfter(db: Queryable, day: string): Promise<SplitRow[]> {
  return execute<SplitRow>(db, { name: 'pmd_splits_after', text: 'SELECT * FROM splits WHERE execution_date > $1 ORDER BY ticker, execution_date, id', values: [day] });
}
