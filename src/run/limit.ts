/**
 * Adaptive concurrency (AIMD) for the downloads in flight: a throttled answer (503 SlowDown, 429)
 * halves the limit, at most once per `cooldownMs` (answers to requests sent before the cut would
 * halve it again); then each run of calm completions as long as the limit raises it by one, back
 * to `max`. With `start` below `max` the limit begins there and grows by one per calm completion
 * (doubling per round) until the first throttle or `max`: on a shared store a process that starts
 * first then does not take 20 large files before the others have registered.
 */
export class AdaptiveLimit {
  readonly #max: number;
  readonly #cooldownMs: number;
  #current: number;
  #lastCut = Number.NEGATIVE_INFINITY;
  #calm = 0;
  #slowStart: boolean;

  constructor(max: number, opts: { cooldownMs?: number; start?: number } = {}) {
    this.#max = max;
    this.#current = Math.max(1, Math.min(max, opts.start ?? max));
    this.#slowStart = this.#current < max;
    this.#cooldownMs = opts.cooldownMs ?? 500;
  }

  /** Downloads allowed in flight now. */
  get current(): number {
    return this.#current;
  }

  /** The server throttled a request. `now` in ms (performance.now()). */
  throttled(now: number): void {
    this.#calm = 0;
    this.#slowStart = false;
    if (now - this.#lastCut < this.#cooldownMs) return;
    this.#lastCut = now;
    this.#current = Math.max(1, Math.floor(this.#current / 2));
  }

  /** A download completed without being throttled. */
  calm(): void {
    if (this.#current >= this.#max) return;
    if (this.#slowStart || ++this.#calm >= this.#current) {
      this.#calm = 0;
      this.#current += 1;
    }
  }
}

/**
 * Watches a counter (Int32 at index 0) that worker threads bump on every throttled answer, so the
 * limit drops while the task is still retrying rather than when it ends. Returns a stop function.
 */
export function watchThrottles(signal: SharedArrayBuffer, onThrottle: () => void, everyMs = 50): () => void {
  const counter = new Int32Array(signal);
  let seen = Atomics.load(counter, 0);
  const timer = setInterval(() => {
    const now = Atomics.load(counter, 0);
    if (now > seen) onThrottle();
    seen = now;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
