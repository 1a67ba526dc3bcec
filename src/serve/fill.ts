// `--fill`: a window an answer found missing is preloaded first, once whatever the number of
// requests that wait for it (single-flight, keyed by what is missing), through the library's own
// preload: the usual rate limit, retries and progress records. One symbol's window is a preload
// of that symbol; a grouped day (every ticker of a dataset's day) is an `--all` preload of that
// one day: one day file, as cheap as one ticker's week.
import { preload } from '../preload.js';
import type { PreloadOptions } from '../options.js';
import type { MissingWindow } from './api/types.js';

/**
 * How long a fill that succeeded is not started again for the same window. A fill can succeed and
 * leave a day uncovered: the listing had no file for it (a market holiday, or a file not
 * published yet; coverage records only what the listing shows, src/run/coverage.ts). Without
 * this every request for such a day would list the bucket again; after it a late file is found.
 */
export const REFILL_AFTER_MS = 10 * 60_000;

/** Recent fills remembered at most (old ones are dropped first): a bound on memory, not a cache size to tune. */
const RECENT_MAX = 10_000;

export class Filler {
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Fills that succeeded, by key: when each finished. */
  readonly #recent = new Map<string, number>();
  readonly #options: PreloadOptions;
  readonly #onStart: (w: MissingWindow) => void;
  readonly #onEnd: (w: MissingWindow, error: unknown) => void;
  readonly #clock: () => number;

  /** `options`: where the store is and how to download (the window is the missing one's). */
  constructor(
    options: PreloadOptions,
    hooks: { onStart: (w: MissingWindow) => void; onEnd: (w: MissingWindow, error: unknown) => void },
    clock: () => number = Date.now,
  ) {
    this.#options = options;
    this.#onStart = hooks.onStart;
    this.#onEnd = hooks.onEnd;
    this.#clock = clock;
  }

  /**
   * Preloads `w`, or joins the preload of the same window already under way. Resolves at once
   * when the same window was filled less than {@link REFILL_AFTER_MS} ago: what that fill left
   * missing, the listing did not have.
   */
  ensure(w: MissingWindow): Promise<void> {
    const key = keyOf(w);
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const filledAt = this.#recent.get(key);
    if (filledAt !== undefined && this.#clock() - filledAt < REFILL_AFTER_MS) return Promise.resolve();
    this.#recent.delete(key);
    this.#onStart(w);
    const done = this.#preload(w).then((report) => {
      const failed = report.failures[0];
      if (failed !== undefined) throw new Error(`${report.failures.length} file(s) failed, first ${failed.key}: ${failed.message}`);
      this.#remember(key);
    });
    const tracked = done.finally(() => this.#inFlight.delete(key));
    // Settled for the hooks whether or not anyone still waits.
    tracked.then(
      () => this.#onEnd(w, undefined),
      (error: unknown) => this.#onEnd(w, error),
    );
    this.#inFlight.set(key, tracked);
    return tracked;
  }

  /**
   * Waits for the preloads under way: requests in flight wait for them, and a graceful stop
   * finishes what is in flight (a second Ctrl+C does not wait).
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #preload(w: MissingWindow): ReturnType<typeof preload> {
    const window = { start: w.start, end: w.end };
    return w.kind === 'symbol'
      ? preload([w.symbol], { ...this.#options, ...window, interval: w.interval })
      : preload([], { ...this.#options, ...window, all: true, dataset: w.dataset, interval: '1d' });
  }

  #remember(key: string): void {
    // Insertion order is age: the oldest go first.
    this.#recent.delete(key);
    this.#recent.set(key, this.#clock());
    for (const old of this.#recent.keys()) {
      if (this.#recent.size <= RECENT_MAX) break;
      this.#recent.delete(old);
    }
  }
}

/** One key per missing window: the same window asked by many requests is one fill. */
function keyOf(w: MissingWindow): string {
  return w.kind === 'symbol' ? `symbol\u0000${w.symbol}\u0000${w.interval}\u0000${w.start}\u0000${w.end}` : `market\u0000${w.dataset}\u0000${w.start}\u0000${w.end}`;
}
