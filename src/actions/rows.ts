// The provider's rows of corporate actions under their own (snake_case) names, as the REST API
// sends them and as both stores keep them, and the one mapping to the camelCase types.
import type { Dividend, Split } from './types.js';

/** A split as the REST API and the stores' `splits` table name its fields. */
export interface SplitRow {
  ticker: string;
  execution_date: string;
  split_from: number;
  split_to: number;
  adjustment_type: string;
  historical_adjustment_factor: number | null;
  id: string;
}

export interface DividendRow {
  ticker: string;
  ex_dividend_date: string;
  cash_amount: number;
  currency: string | null;
  distribution_type: string | null;
  frequency: number | null;
  pay_date: string | null;
  record_date: string | null;
  declaration_date: string | null;
  split_adjusted_cash_amount: number | null;
  historical_adjustment_factor: number | null;
  id: string;
}

export function toSplit(r: SplitRow): Split {
  return {
    ticker: r.ticker,
    executionDate: r.execution_date,
    splitFrom: r.split_from,
    splitTo: r.split_to,
    adjustmentType: r.adjustment_type,
    historicalAdjustmentFactor: r.historical_adjustment_factor,
    id: r.id,
  };
}

export function toDividend(r: DividendRow): Dividend {
  return {
    ticker: r.ticker,
    exDividendDate: r.ex_dividend_date,
    cashAmount: r.cash_amount,
    currency: r.currency,
    distributionType: r.distribution_type,
    frequency: r.frequency,
    payDate: r.pay_date,
    recordDate: r.record_date,
    declarationDate: r.declaration_date,
    splitAdjustedCashAmount: r.split_adjusted_cash_amount,
    historicalAdjustmentFactor: r.historical_adjustment_factor,
    id: r.id,
  };
}
