// Corporate actions as read from the provider's REST API (`/stocks/v1/splits`, `/stocks/v1/dividends`),
// with the rows' snake_case fields in camelCase. Shared by the client, the adjustment code and the stores.

/** One row of `/stocks/v1/splits`. */
export interface Split {
  ticker: string;
  /** First session (YYYY-MM-DD) that trades on the new share count; bars before it are adjusted. */
  executionDate: string;
  /** Old shares: a 1-for-10 reverse split is `splitFrom: 10, splitTo: 1`. Positive, possibly not whole. */
  splitFrom: number;
  /** New shares: a 5-for-1 split is `splitFrom: 1, splitTo: 5`. Positive, possibly not whole. */
  splitTo: number;
  /**
   * `forward_split`, `reverse_split` or `stock_dividend` today; a string, so that a new value the
   * provider adds is read rather than rejected (every kind adjusts by the same ratio).
   */
  adjustmentType: string;
  /** The provider's cumulative factor for prices before `executionDate` (this split and every later one), if given. */
  historicalAdjustmentFactor: number | null;
  id: string;
}

/** One row of `/stocks/v1/dividends`. */
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
