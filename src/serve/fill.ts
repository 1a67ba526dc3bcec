// `--fill`: a window an answer found missing is preloaded first, once whatever the number of
// requests that wait for it (single-flight, keyed by symbol, interval and window), through the
// library's own preload: the usual rate limit, retries and progress records.
import { preload } from '../preload.js';
import type { PreloadOptions } from '../options.js';
import type { MissingWindow } from './api/types.js';

export class Filler {
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #options: PreloadOptions;
  readonly #onStart: (w: MissingWindow) => void;
  readonly #onEnd: (w: MissingWindow, error: unknown) => void;

  /** `options`: where the store is and how to download (the window is the missing one's). */
  constructor(options: PreloadOptions, hooks: { onStart: (w: MissingWindow) => void; onEnd: (w: MissingWindow, error: unknown) => void }) {
    this.#options = options;
    this.#onStart = hooks.onStart;
    this.#onEnd = hooks.onEnd;
  }

  /** Preloads `w`, or joins the preload of the same window already under way. */
  ensure(w: MissingWindow): Promise<void> {
    const key = `${w.symbol}\u0000${w.interval}\u0000${w.start}\u0000${w.end}`;
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    this.#onStart(w);
    const done = preload([w.symbol], { ...this.#options, start: w.start, end: w.end, interval: w.interval }).then(
      (report) => {
        const failed = report.failures[0];
        if (failed !== undefined) throw new Error(`${report.failures.length} file(s) failed, first ${failed.key}: ${failed.message}`);
      },
    );
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
}
