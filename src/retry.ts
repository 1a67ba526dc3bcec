// The one retry loop of the project: S3 listings and downloads, the REST API, the PostgreSQL store.
// p-retry counts the attempts, honours the signal and the final errors; the wait between attempts
// is ours (p-retry's own delay is set to 0), because p-retry cannot replace its backoff with a
// wait the server asked for (Retry-After), nor bound the retries by the time since the first
// failure (a store that went away is waited for up to its timeout, however long the last
// statement ran before it failed).
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';

/** Thrown (or wrapping the error) by an attempt to stop retrying at once: p-retry's. */
export { AbortError as FinalError };

/** What a decision about a failure knows. */
export interface RetryContext {
  readonly error: unknown;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** When the first attempt of this call failed (`performance.now()`). */
  readonly firstFailureAt: number;
}

/** Options of {@link retry}: each caller passes its own resolved values. */
export interface RetryOptions {
  /** Further attempts after the first (Infinity: bounded by `maxElapsedMs` only). */
  retries: number;
  /** The wait before the first retry (ms); doubled for each further one, with jitter. */
  baseMs: number;
  /** The longest backoff wait (ms), and the longest Retry-After honoured (unless `maxRetryAfterMs`). */
  capMs: number;
  /**
   * Ends a wait and stops the retries: the call rejects with the last attempt's error (with the
   * signal's reason when aborted before the first attempt). Callers check their signal.
   */
  signal?: AbortSignal | undefined;
  /** Whether this failure may pass on a further attempt; may throw to end with another error. @default always */
  shouldRetry?: ((c: RetryContext) => boolean | Promise<boolean>) | undefined;
  /** The wait the server asked for (a `Retry-After`, in ms), replacing the backoff for this failure. */
  retryAfterMs?: ((error: unknown) => number | undefined) | undefined;
  /** The longest Retry-After honoured (ms). @default capMs */
  maxRetryAfterMs?: number | undefined;
  /** No wait ends later than this many ms after the first failure; a failure past it is not retried. */
  maxElapsedMs?: number | undefined;
  /** The error to reject with when `maxElapsedMs` ran out. @default the last attempt's error */
  timedOut?: ((c: RetryContext) => unknown) | undefined;
}

/**
 * The backoff before retry `retry` (0 for the first): `baseMs` doubled per retry, times a random
 * factor from 1 to 2 (p-retry's `randomize`, so that clients failing together do not return
 * together), at most `capMs`.
 */
export function backoffDelay(retry: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, Math.round((1 + Math.random()) * baseMs * 2 ** Math.min(retry, 30)));
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse would also read `-1` as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The Retry-After of an S3 error answer (S3HttpError and the SDK's keep the headers in `$response`). */
export function s3RetryAfterMs(error: unknown): number | undefined {
  const headers = (error as { $response?: { headers?: Record<string, string | undefined> } } | null)?.$response?.headers;
  return parseRetryAfter(headers?.['retry-after']);
}

/**
 * Runs `attempt` until it succeeds, it throws a {@link FinalError}, `shouldRetry` says no, or the
 * retries (or `maxElapsedMs`) run out; then rejects with the last error. Between attempts it waits
 * the server's Retry-After when `retryAfterMs` finds one (instead of the backoff, not on top of it),
 * else {@link backoffDelay}.
 */
export function retry<T>(attempt: (n: number) => Promise<T>, o: RetryOptions): Promise<T> {
  let firstFailureAt: number | undefined;
  let waits = 0;
  const sleepOptions = o.signal ? { signal: o.signal } : {};
  return pRetry(attempt, {
    retries: o.retries,
    minTimeout: 0,
    maxTimeout: 0,
    signal: o.signal,
    shouldRetry: async ({ error, attemptNumber }) => {
      if (o.signal?.aborted === true) return false;
      firstFailureAt ??= performance.now();
      const c: RetryContext = { error, attempt: attemptNumber, firstFailureAt };
      if (o.shouldRetry !== undefined && !(await o.shouldRetry(c))) return false;
      const left = o.maxElapsedMs === undefined ? Infinity : firstFailureAt + o.maxElapsedMs - performance.now();
      if (left <= 0) {
        if (o.timedOut === undefined) return false;
        throw o.timedOut(c);
      }
      const asked = o.retryAfterMs?.(error);
      const wait = asked === undefined ? backoffDelay(waits, o.baseMs, o.capMs) : Math.min(asked, o.maxRetryAfterMs ?? o.capMs);
      waits += 1;
      if (wait > 0) {
        try {
          await sleep(Math.min(wait, left), undefined, sleepOptions);
        } catch {
          return false; // aborted during the wait
        }
      }
      return true;
    },
  });
}
