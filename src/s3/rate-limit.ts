// A request-rate cap shared by every thread of a run. Shared memory holds a ring of the last
// `capacity` request start times; a request may start only once the oldest of them has left
// the window. That bounds every sliding window, however many threads, retries or late timers
// there are, which evenly spaced slots alone do not: a late timer can bunch requests.

/** Plain data that crosses `postMessage`: the buffer stays shared, not copied. */
export interface RateLimit {
  buffer: SharedArrayBuffer;
  rps: number;
}

// Cells of the BigInt64 view: a spin lock, the ring's next index, then the ring.
const LOCK = 0;
const NEXT = 1;
const RING = 2;
// Requests spaced right can still arrive bunched where the server measures them (a busy event
// loop on either side): the window is kept 10% longer than a second.
const MARGIN = 1.1;

export function createRateLimit(rps: number): RateLimit {
  return { buffer: new SharedArrayBuffer(8 * (RING + capacity(rps))), rps };
}

function capacity(rps: number): number {
  return Math.max(1, Math.floor(rps));
}

/** Waits until one more request fits under the cap, and claims its place. */
export async function acquire(limit: RateLimit): Promise<void> {
  const cells = new BigInt64Array(limit.buffer);
  const size = capacity(limit.rps);
  const windowMs = BigInt(Math.ceil(((1000 * size) / limit.rps) * MARGIN));
  for (;;) {
    let waitMs = 0n;
    // The critical section is a few loads and stores: a spin lock is cheaper than any handoff.
    while (Atomics.compareExchange(cells, LOCK, 0n, 1n) !== 0n);
    try {
      const next = Number(cells[NEXT]);
      const oldest = cells[RING + next] ?? 0n;
      const now = BigInt(Date.now());
      if (now - oldest >= windowMs) {
        cells[RING + next] = now;
        cells[NEXT] = BigInt((next + 1) % size);
        return;
      }
      waitMs = oldest + windowMs - now;
    } finally {
      Atomics.store(cells, LOCK, 0n);
    }
    await new Promise((r) => setTimeout(r, Number(waitMs)));
  }
}
