// What crosses the thread boundary, typed once for both sides. Plain data only: errors are
// flattened to { code, message } because class identity does not survive postMessage.
import type { MessagePort } from 'node:worker_threads';
import type { FailureCode, ParsedRow, RowColumns } from '../types.js';
import type { CalendarCounts } from '../parse/calendar.js';
import type { DuplicateConflicts } from '../parse/duplicates.js';
import type { S3Config } from '../s3/client.js';
import type { RateLimit } from '../s3/rate-limit.js';

export interface DownloadTask {
  /** Undefined offline: the file must then come from the raw mirror. */
  config: S3Config | undefined;
  key: string;
  day: string;
  size: number;
  etag: string;
  tickers: string[];
  /** Every row of the file (`--all`): `tickers` is ignored, rows come back as columns. */
  all?: boolean | undefined;
  /**
   * `--all` and a large file: the rows go to the main thread over this port as they are inflated
   * (RowMessage), each chunk acknowledged once the store has staged it (the back-pressure).
   */
  port?: MessagePort | undefined;
  /** Retries after the first attempt before the key fails. */
  retries: number;
  /** Base delay of the exponential backoff, in ms. */
  minRetryDelayMs: number;
  /** Per-request timeout: a stalled response is cut and retried. */
  requestTimeoutMs: number;
  /** The run's shared request-rate cap, if any. */
  rateLimit?: RateLimit | undefined;
  /**
   * Shared counter (Int32 at index 0) the worker bumps on every throttled answer, so the main
   * thread can slow down at once rather than when the task ends, after its retries.
   */
  throttleSignal: SharedArrayBuffer;
  /** Files larger than this stream through (never held whole); smaller ones are read at once. */
  streamAboveBytes: number;
  /** The raw mirror: read a verified copy from there first, and keep what is downloaded. */
  rawDir?: string | undefined;
  lastModified?: string | undefined;
}

/** `misdated` and `outsideSession`: what the file's calendar found (parse/calendar.ts). */
export interface TaskSuccess extends CalendarCounts {
  ok: true;
  key: string;
  bytes: number;
  rows: ParsedRow[];
  /** `--all`: the file's rows in columns (empty when they went over `port`). */
  columns?: RowColumns | undefined;
  /** `--all`: every row's count, whether in `columns` or sent over `port`. */
  rowCount?: number | undefined;
  malformed: number;
  duplicates: number;
  /** Of the duplicates, the rows dropped whose values differ from the one kept (the last of the file). */
  duplicateConflicts?: DuplicateConflicts | undefined;
  retries: number;
  /** Attempts answered 503 SlowDown / 429: the main thread lowers the downloads in flight. */
  throttled: number;
  /** Read from the raw mirror: no request was made. */
  fromMirror: boolean;
}

export interface TaskFailure {
  ok: false;
  key: string;
  /** Stable code: ERR_NOT_ENTITLED, ERR_NOT_FOUND, ERR_INTEGRITY, ERR_PARSE, ERR_CREDENTIALS, ERR_UNREACHABLE, ERR_OFFLINE, ERR_DOWNLOAD; ERR_ABORTED when the pool closed under it. */
  code: FailureCode | 'ERR_ABORTED';
  message: string;
  retries: number;
  throttled: number;
}

export type TaskResult = TaskSuccess | TaskFailure;

/** Worker to main thread over a task's port (`--all`, large files). */
export type RowMessage =
  /** A chunk of rows, in file order. */
  | { type: 'rows'; columns: RowColumns }
  /** The body starts over (a failed check): the rows sent so far are void. */
  | { type: 'reset' };

/** Main thread to worker: a chunk was staged. */
export interface RowAck {
  type: 'ack';
}
