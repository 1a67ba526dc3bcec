// Bounded concurrency for answers: at most `concurrency` computing at once, at most `queue`
// waiting; past that a request is refused at once (the shell answers 503 with Retry-After)
// rather than waiting without end. A waiting request whose time runs out leaves the queue
// without running.
//
// Why not p-limit or p-queue: neither refuses past a bounded queue nor removes one waiting task
// on its abort without extra wrapping; the whole is a counter and an array.

/** The gate is full: running and waiting at their bounds. */
export class ShedError extends Error {
  constructor() {
    super('Too many requests in flight');
    this.name = 'ShedError';
  }
}

interface Waiter {
  start: () => void;
}

export class Gate {
  readonly #concurrency: number;
  readonly #queueSize: number;
  readonly #waiting: Waiter[] = [];
  #running = 0;

  constructor(concurrency: number, queue: number) {
    this.#concurrency = concurrency;
    this.#queueSize = queue;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `fn` when a slot is free. Throws ShedError at once when the queue is full; rejects with
   * the signal's reason when it aborts while waiting (then `fn` never runs). Once started, `fn`
   * holds its slot until it settles, whatever the caller does with the result.
   */
  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    signal.throwIfAborted();
    const handedOver = this.#running >= this.#concurrency;
    if (handedOver) {
      if (this.#waiting.length >= this.#queueSize) throw new ShedError();
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(waiter);
      });
      // The slot was handed over by the one that ended (#release): already counted.
    } else {
      this.#running += 1;
    }
    try {
      // Started on a turn of the event loop of its own (#release hands slots on the same way):
      // with a store that reads synchronously (SQLite) an answer would otherwise run to its end in
      // the same turn as its request was parsed, the next request would wait unparsed in its
      // socket, and no request would ever be queued or shed, only delayed where nothing sees it.
      if (!handedOver) await new Promise<void>((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
      return await fn();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#running -= 1;
    // On the next turn of the event loop, not in this chain of promises: with a store that reads
    // synchronously (SQLite), handing the slot on at once would run the whole queue without ever
    // yielding, and nothing else (/healthz, the time limit's timers, new connections to shed)
    // would run until it is empty.
    else setImmediate(next.start);
  }
}
