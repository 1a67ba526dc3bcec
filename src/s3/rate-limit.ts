// A request-rate cap shared by every thread of a run. Shared memory holds a ring of the last
// `capacity` request start times; a request may start only once the oldest of them has left
// the window. That bounds every sliding window, however many threads, retries or late timers
// there are, which evenly spaced slots alone do not: a late timer can bunch requests.
//
// With a shared store the cap is one for every process on the job: the store grants start times
// (slots), the main thread keeps a small queue of them in shared memory (startSlotFeed), and
// every thread's acquire() takes the next one.

/** Plain data that crosses `postMessage`: the buffers stay shared, not copied. */
export interface RateLimit {
  buffer: SharedArrayBuffer;
  rps: number;
  /** Slots granted by a shared store, kept filled by {@link startSlotFeed}; absent for a per-process cap. */
  slots?: SharedArrayBuffer;
}

// Cells of the BigInt64 view: a spin lock, the ring's next index, then the ring.
const LOCK = 0;
const NEXT = 1;
const RING = 2;
// Requests spaced right can still arrive bunched where the server measures them (a busy event
// loop on either side): the window is kept 10% longer than a second.
const MARGIN = 1.1;

/**
 * A cap of `rps` request starts per second. With `shared`, the cap is one for every process on a
 * shared store: start {@link startSlotFeed} on the main thread to fill it from the store's grants.
 */
export function createRateLimit(rps: number, opts: { shared?: boolean } = {}): RateLimit {
  const limit: RateLimit = { buffer: new SharedArrayBuffer(8 * (RING + capacity(rps))), rps };
  if (opts.shared) limit.slots = new SharedArrayBuffer(8 * (SLOT_RING + 2 * slotBatch(rps)));
  return limit;
}

function capacity(rps: number): number {
  return Math.max(1, Math.floor(rps));
}

/** Waits until one more request fits under the cap, and claims its place. */
export async function acquire(limit: RateLimit): Promise<void> {
  if (limit.slots !== undefined) return acquireSlot(limit.slots);
  const cells = new BigInt64Array(limit.buffer);
  const size = capacity(limit.rps);
  const windowMs = BigInt(Math.ceil(((1000 * size) / limit.rps) * MARGIN));
  for (;;) {
    const waitMs = claim(cells, size, windowMs);
    if (waitMs === undefined) return;
    await sleep(Number(waitMs));
  }
}

/** Claims a place in the ring once its oldest start has left the window; else says how long until it does. */
function claim(cells: BigInt64Array, size: number, windowMs: bigint): bigint | undefined {
  // The critical section is a few loads and stores: a spin lock is cheaper than any handoff.
  while (Atomics.compareExchange(cells, LOCK, 0n, 1n) !== 0n);
  try {
    const next = Number(cells[NEXT]);
    const oldest = cells[RING + next] ?? 0n;
    const now = BigInt(Date.now());
    if (now - oldest < windowMs) return oldest + windowMs - now;
    cells[RING + next] = now;
    cells[NEXT] = BigInt((next + 1) % size);
    return undefined;
  } finally {
    Atomics.store(cells, LOCK, 0n);
  }
}

// Cells of the slot queue (BigInt64Array): a spin lock, the count of slots ever taken out (head)
// and put in (tail), callers waiting on an empty queue, slots used (not dropped), then the ring.
const S_LOCK = 0;
const S_HEAD = 1;
const S_TAIL = 2;
const S_WAITING = 3;
const S_USED = 4;
const SLOT_RING = 5;
// A slot this late is dropped: a request started now would bunch with the slots after it.
const STALE_MS = 50;

/** Slots asked of the store at once: a fifth of a second's worth, so few round trips and little waste. */
function slotBatch(rps: number): number {
  return Math.max(1, Math.ceil(rps / 5));
}

function lock(cells: BigInt64Array): void {
  // The critical sections are a few loads and stores: a spin lock is cheaper than any handoff.
  while (Atomics.compareExchange(cells, S_LOCK, 0n, 1n) !== 0n);
}

function unlock(cells: BigInt64Array): void {
  Atomics.store(cells, S_LOCK, 0n);
}

/** Takes the next slot that is not stale, dropping stale ones. Call under the lock. */
function takeFresh(cells: BigInt64Array, now: number): number | undefined {
  const size = BigInt(cells.length - SLOT_RING);
  let head = cells[S_HEAD] ?? 0n;
  const tail = cells[S_TAIL] ?? 0n;
  let slot: number | undefined;
  while (head < tail && slot === undefined) {
    const t = Number(cells[SLOT_RING + Number(head % size)]);
    head++;
    if (t >= now - STALE_MS) slot = t;
  }
  cells[S_HEAD] = head;
  return slot;
}

async function acquireSlot(buffer: SharedArrayBuffer): Promise<void> {
  const cells = new BigInt64Array(buffer);
  let waiting = false;
  try {
    for (;;) {
      lock(cells);
      const slot = takeFresh(cells, Date.now());
      unlock(cells);
      if (slot !== undefined) {
        const waitMs = slot - Date.now();
        if (waitMs > 0) await sleep(waitMs);
        // A timer that fired late (a busy or descheduled thread) would send this request bunched
        // with the next slots' requests: measured here under load, 90 ms late was common. Take
        // another slot instead.
        if (Date.now() - slot > STALE_MS) continue;
        Atomics.add(cells, S_USED, 1n);
        return;
      }
      // Momentarily empty (the feed's grant is on its way): wait, never fail.
      if (!waiting) Atomics.add(cells, S_WAITING, 1n);
      waiting = true;
      await sleep(5);
    }
  } finally {
    if (waiting) Atomics.sub(cells, S_WAITING, 1n);
  }
}

/**
 * Keeps the shared slot queue of `limit` filled from `grant` (the store's `rateSlots`), on the
 * main thread: a batch of max(1, ceil(rps/5)) slots whenever fewer than half a batch are left
 * and slots are being used or awaited, so an idle process does not hold slots others could use.
 * A failed grant is reported to `onError` and retried a second later; callers keep waiting.
 */
export function startSlotFeed(
  limit: RateLimit,
  grant: (n: number) => Promise<number[]>,
  opts: { onError?: (error: unknown) => void } = {},
): { stop(): void } {
  const buffer = limit.slots;
  if (buffer === undefined) throw new TypeError('startSlotFeed needs a RateLimit created with { shared: true }');
  const cells = new BigInt64Array(buffer);
  const size = cells.length - SLOT_RING;
  const batch = slotBatch(limit.rps);
  let usedAtGrant = -1n; // forces the first fill
  let busy = false;
  let pauseUntil = 0;

  const fill = async (): Promise<void> => {
    if (busy || Date.now() < pauseUntil) return;
    const used = Atomics.load(cells, S_USED);
    if (used === usedAtGrant && Atomics.load(cells, S_WAITING) === 0n) return;
    lock(cells);
    const now = Date.now();
    let fresh = 0;
    for (let i = cells[S_HEAD] ?? 0n; i < (cells[S_TAIL] ?? 0n); i++) {
      if (Number(cells[SLOT_RING + Number(i % BigInt(size))]) >= now - STALE_MS) fresh++;
    }
    unlock(cells);
    if (fresh * 2 >= batch) return;
    busy = true;
    try {
      usedAtGrant = used;
      const times = await grant(batch);
      lock(cells);
      for (const t of times) {
        const tail = cells[S_TAIL] ?? 0n;
        // Full: the oldest slot goes (it is the likeliest to be stale by now).
        if (tail - (cells[S_HEAD] ?? 0n) >= BigInt(size)) cells[S_HEAD] = (cells[S_HEAD] ?? 0n) + 1n;
        cells[SLOT_RING + Number(tail % BigInt(size))] = BigInt(Math.ceil(t));
        cells[S_TAIL] = tail + 1n;
      }
      unlock(cells);
    } catch (error) {
      usedAtGrant = -1n;
      pauseUntil = Date.now() + 1000;
      opts.onError?.(error);
    } finally {
      busy = false;
    }
  };
  // fill() reports a failed grant itself; anything else it throws goes the same way.
  const tick = (): void => {
    fill().catch((error: unknown) => opts.onError?.(error));
  };
  // Checked often enough that the half batch left covers a grant's round trip.
  const timer = setInterval(tick, Math.min(25, Math.max(5, Math.floor(500 / limit.rps))));
  timer.unref();
  tick();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
