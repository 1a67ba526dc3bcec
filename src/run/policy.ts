// The failure policy: what a file that failed after its retries means for the run. Most failures
// are the file's own (recorded, the run goes on with the others); a few say that retrying other
// keys cannot help (no entitlement, rejected credentials, an endpoint that cannot be reached),
// and the run stops early with one clear error.
import { ConfigurationError, NotEntitledError, PreloadError } from '../errors.js';
import { Breaker } from './breaker.js';
import type { Failure } from './report.js';

/** Keys in a row that cannot connect before the run stops instead of trying every other key. */
const BREAKER_THRESHOLD = 3;

export class FailurePolicy {
  readonly #endpoint: string;
  readonly #breaker: Breaker;

  /** `endpoint` is named in the error when the breaker trips. */
  constructor(endpoint: string, threshold = BREAKER_THRESHOLD) {
    this.#endpoint = endpoint;
    this.#breaker = new Breaker(threshold);
  }

  /** A file was downloaded: the endpoint is reachable. */
  reached(): void {
    this.#breaker.reached();
  }

  /** A file of `dataset` failed after its retries: the error that stops the run, or undefined when it goes on. */
  failed(dataset: string, failure: Failure): PreloadError | undefined {
    if (failure.code !== 'ERR_UNREACHABLE') this.#breaker.reached();
    switch (failure.code) {
      case 'ERR_NOT_ENTITLED':
        return new NotEntitledError(dataset, failure.key);
      case 'ERR_CREDENTIALS':
        return new ConfigurationError(failure.message);
      case 'ERR_UNREACHABLE':
        if (!this.#breaker.unreachable()) return undefined;
        return new PreloadError(
          'ERR_UNREACHABLE',
          `Cannot reach the S3 endpoint ${this.#endpoint}: ${this.#breaker.count} files in a row could not connect. Stopped; the progress made so far is kept, run the same command again to resume.`,
        );
      default:
        return undefined;
    }
  }
}

/** What a run stops with: a PreloadError as it is, anything else as ERR_UNEXPECTED with it as the cause. */
export function asPreloadError(error: unknown): PreloadError {
  if (error instanceof PreloadError) return error;
  return new PreloadError('ERR_UNEXPECTED', String((error as Error)?.message ?? error), { cause: error });
}

/** An AbortSignal's rejection (what stopped work throws once the run is aborted). */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}
