// What crosses the thread boundary, typed once for both sides. Plain data only: errors are
// flattened to { code, message } because class identity does not survive postMessage.
import type { ParsedRow } from '../parse/day-file.js';
import type { S3Config } from '../s3/client.js';

export interface DownloadTask {
  config: S3Config;
  key: string;
  day: string;
  size: number;
  etag: string;
  tickers: string[];
  /** Retries after the first attempt before the key fails. */
  retries: number;
  /** Base delay of the exponential backoff, in ms. */
  minRetryDelayMs: number;
  /** Per-request timeout: a stalled response is cut and retried. */
  requestTimeoutMs: number;
}

export interface TaskSuccess {
  ok: true;
  key: string;
  bytes: number;
  rows: ParsedRow[];
  malformed: number;
  duplicates: number;
  retries: number;
}

export interface TaskFailure {
  ok: false;
  key: string;
  /** Stable code: ERR_NOT_ENTITLED, ERR_NOT_FOUND, ERR_INTEGRITY, ERR_PARSE, ERR_CREDENTIALS, ERR_DOWNLOAD. */
  code: string;
  message: string;
  retries: number;
}

export type TaskResult = TaskSuccess | TaskFailure;
