// Corporate actions as read from the provider's REST API (`/stocks/v1/splits`, `/stocks/v1/dividends`),
// with the rows' snake_case fields in camelCase; and the provider's rows under their own (snake_case)
// names, as the REST API sends them and as both stores keep them, with the one mapping between
// the two. A leaf, shared by the client, the adjustment code and the stores.

/**
 * The `adjustment_type` values the provider documents for `/stocks/v1/splits` ("possible values
 * include", so the list may grow: any other string is kept as given and adjusts by its ratio too).
 * Source: the provider's OpenAPI spec as shipped in its JS client (`src/openapi.json`, the
 * `adjustment_type` query enum and result field of `GET /stocks/v1/splits`).
 */
export const ADJUSTMENT_TYPES = ['forward_split', 'reverse_split', 'stock_dividend'] as const;

/** One row of `/stocks/v1/splits`: a forward or reverse split, or a stock dividend (shares paid as a dividend). */
export interface Split {
  ticker: string;
  /** First session (YYYY-MM-DD) that trades on the new share count; bars before it are adjusted. */
  executionDate: string;
  /** Old shares: a 1-for-10 reverse split is `splitFrom: 10, splitTo: 1`. Positive, possibly not whole. */
  splitFrom: number;
  /** New shares: a 5-for-1 split is `splitFrom: 1, splitTo: 5`. Positive, possibly not whole. */
  splitTo: number;
  /**
   * `forward_split`, `reverse_split` or `stock_dividend` ({@link ADJUSTMENT_TYPES}); a string, so
   * that a new value the provider adds is read rather than rejected. Every kind adjusts by its
   * ratio: a 5% stock dividend is `splitFrom: 1, splitTo: 1.05` (or 100 and 105), 1.05 new shares
   * for each old one. Derived from the ratio for a row that has none (the older `/v3/reference/splits`).
   */
  adjustmentType: string;
  /**
   * The provider's cumulative factor for prices before `executionDate` (this row's ratio times every
   * later row's, stock dividends included), if given: kept beside ours, which `actions` compares with it.
   */
  historicalAdjustmentFactor: number | null;
  /** The provider's id (a string in its spec; a number is kept as its decimal text), `''` when absent. */
  id: string;
}

/** One row of `/stocks/v1/dividends`: cash only (stock dividends are rows of the splits endpoint). */
export interface Dividend {
  ticker: string;
  /** First session (YYYY-MM-DD) that trades without the dividend; bars before it are adjusted in 'total' mode. */
  exDividendDate: string;
  /** Per share, as declared (not split-adjusted): the unit of the raw close before the ex-date. */
  cashAmount: number;
  currency: string | null;
  /** `recurring`, `special`, `supplemental`, `irregular`, `unknown`; a string for the same reason as `adjustmentType`. */
  distributionType: string | null;
  /** Payments per year (4 = quarterly, 0 = one-off), if given. */
  frequency: number | null;
  payDate: string | null;
  recordDate: string | null;
  declarationDate: string | null;
  /** `cashAmount` in today's shares (after every later split), if given. */
  splitAdjustedCashAmount: number | null;
  /** The provider's cumulative dividend factor for prices before `exDividendDate`, if given. */
  historicalAdjustmentFactor: number | null;
  id: string;
}

/**
 * How bars are adjusted when read: `splits` (the default) for splits only, `total` for splits and
 * cash dividends (a total-return series), `none` for the prices as traded.
 */
export type Adjust = 'splits' | 'total' | 'none';

/** One ticker's corporate actions, each list sorted by date (oldest first). */
export interface CorporateActions {
  splits: Split[];
  dividends: Dividend[];
}

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
