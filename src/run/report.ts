import type { FailureCode, JobCounts } from '../types.js';
import type { Interval } from '../options.js';
import type { ProcessInfo } from '../store/types.js';

/** A key that failed after its retries. */
export interface Failure {
  key: string;
  code: FailureCode;
  message: string;
}

/** The outcome of a run: the fields of the CLI's `--json` output. */
export interface PreloadReport {
  /** The symbols as requested (upper-cased). */
  symbols: string[];
  /** The dataset prefix(es) read, comma-separated when symbols span several. */
  dataset: string;
  /** The bar interval asked for (`1d`, or an intraday one built from stored 1m bars). */
  interval: Interval;
  start: string;
  end: string;
  /** This process's files. */
  files: {
    listed: number;
    downloaded: number;
    /** Already done in an earlier run (or by another process on a shared store): not downloaded. */
    skipped: number;
    failed: number;
  };
  /** Verified bytes this process downloaded. */
  bytes: number;
  /** Bars merged (upserted) into the store by this process. */
  bars: number;
  /** Time range of the bars held in the store for the run's window, or null if none. */
  barRange: { first: string; last: string } | null;
  elapsedMs: number;
  failures: Failure[];
  retries: number;
  /** Files read from the raw mirror (--keep-raw) instead of downloaded; counted in `files.downloaded`. */
  fromRawMirror: number;
  /** Things worth knowing about the run, e.g. what --offline could not see. */
  notes: string[];
  /** Files done earlier that the provider has since replaced (new ETag): downloaded again, their days replaced. */
  republished: number;
  /** Rows of the requested symbols that could not be parsed. */
  malformedRows: number;
  /** Repeated rows for the same bar inside one file (the last one wins). */
  duplicateRows: number;
  /** A shared store only: the whole job (every process) and the processes that took part. */
  job?: JobReport;
}

/** The whole job on a shared store, across every process that worked on it. */
export interface JobReport extends JobCounts {
  /** This process's id among `processes`. */
  processId: number;
  processes: ProcessInfo[];
}
