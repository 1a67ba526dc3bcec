// The types every layer shares, and the one empty set of columns. A leaf: it imports nothing, so the transport, the parsers, the
// stores and the run can all use these without importing one another (no cycle, type imports
// included; `npm run lint` checks it).

/** One bar, as stored and as returned by `fetchSymbol` / `readBars`. */
export interface Bar {
  /** Start of the bar in ms since the epoch, UTC (`window_start` / 1e6). */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Number of trades, or null where the dataset has none (indices). */
  transactions: number | null;
}

/** A bar's values as a finding shows them (evidence of a duplicate or a revision). */
export type BarValues = Omit<Bar, 'time'>;

/** One ticker and time whose two versions differ: what was kept (or is new) against the other. */
export interface BarConflict {
  ticker: string;
  /** The bar's time (epoch ms). */
  time: number;
  /** `duplicate`: the row kept; `revised`: the bar stored before the file was ingested again. */
  before: BarValues;
  /** `duplicate`: the row dropped; `revised`: the republished file's bar. */
  after: BarValues;
}

/** A bar of one ticker as parsed from a day file. */
export interface ParsedRow extends Bar {
  ticker: string;
}

/**
 * Rows of one file of an `--all` job, in columns: what a worker thread hands over for the whole
 * market (typed arrays are transferred, not copied, and hold no object per row).
 */
export interface RowColumns extends BarColumns {
  length: number;
  /** The ticker of each row. */
  ticker: string[];
}

/** No rows (a file of an `--all` job with none for its scope): one shared, never written to. */
export const EMPTY_COLUMNS: RowColumns = {
  length: 0,
  ticker: [],
  time: new Float64Array(0),
  open: new Float64Array(0),
  high: new Float64Array(0),
  low: new Float64Array(0),
  close: new Float64Array(0),
  volume: new Float64Array(0),
  transactions: new Float64Array(0),
};

/** Bars in columns, one typed array per field. */
export interface BarColumns {
  /** Start of each bar in ms since the epoch, UTC. */
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** Number of trades; NaN where the dataset has none. */
  transactions: Float64Array;
}

/** One day file of a listing. */
export interface DayFile {
  key: string;
  day: string;
  size: number;
  /** ETag without quotes: a plain MD5 for small objects, `<hex>-<parts>` for multipart ones. */
  etag: string;
  lastModified: string | undefined;
}

/** An S3 key pair (with a session token for temporary credentials). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** The codes of a file that failed after its retries (`Failure.code` in reports and events). */
export type FailureCode =
  | 'ERR_NOT_ENTITLED'
  | 'ERR_NOT_FOUND'
  | 'ERR_INTEGRITY'
  | 'ERR_PARSE'
  | 'ERR_CREDENTIALS'
  | 'ERR_UNREACHABLE'
  | 'ERR_OFFLINE'
  | 'ERR_DOWNLOAD';

/** Whole-job counts, for a shared store's report and `status`. */
export interface JobCounts {
  /** Files the job's listings registered. */
  files: number;
  done: number;
  /** Claimed by a live process right now. */
  claimed: number;
  failed: number;
  /** Neither done, failed nor claimed. */
  pending: number;
}
