import type { FailureCode, JobCounts } from './types.js';
import type { AssetClass } from './symbols.js';

/** How one symbol will be fetched: emitted once, before any request. */
export interface PlanEvent {
  type: 'plan';
  jobs: Array<{
    symbols: Array<{ symbol: string; ticker: string; assetClass: AssetClass }>;
    dataset: string;
    start: string | undefined;
    end: string;
    period: string | undefined;
    /** True when the period was chosen from the asset class (5y stocks, 2y crypto). */
    defaultPeriod: boolean;
  }>;
}

/** A snapshot of the run's counters, emitted as files are listed, skipped and completed. */
export interface ProgressEvent {
  type: 'progress';
  /** Day files listed so far. */
  listed: number;
  /** True once every month of every window has been listed: `listed` is final. */
  listingDone: boolean;
  /** Listed files already done in an earlier run (resumed past). */
  skipped: number;
  downloaded: number;
  failed: number;
  /** Verified bytes received this run. */
  bytes: number;
  /** Bars merged into the cache this run. */
  bars: number;
  retries: number;
  /** Answers in which the server throttled this run (503 SlowDown, 429): each was retried, or is in a failure. */
  throttled: number;
  /** Done files whose listing now shows a new ETag: they are downloaded again. */
  republished: number;
  /** Downloads allowed in flight now: `workers`, lowered while the server throttles (503 SlowDown). */
  inFlightLimit: number;
  /** Downloads in flight when the snapshot was taken (started, not yet recorded). */
  inFlight: number;
  /** A shared store only: the whole job's counts across every process (refreshed about once a second). */
  job?: JobCounts;
}

/** A key that failed after its retries; the run goes on with the others. */
export interface FailureEvent {
  type: 'failure';
  key: string;
  code: FailureCode;
  message: string;
  /** Requests made for it (its retries + 1), when the download got that far. */
  attempts?: number;
}

export type PreloadEvent = PlanEvent | ProgressEvent | FailureEvent;
