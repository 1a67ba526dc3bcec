import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { acquire, createRateLimit, startSlotFeed, type RateLimit } from '../../src/s3/rate-limit.js';

/** The most events inside any window of `ms`. */
function worstWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[j] ?? Infinity) < (t[i] ?? 0) + ms) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}

describe('shared rate limit', () => {
  it('never lets more than rps requests start in any second, even from many callers at once', async () => {
    const limit = createRateLimit(20);
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 6; i++) {
          await acquire(limit);
          times.push(Date.now());
        }
      }),
    );
    expect(times).toHaveLength(48);
    expect(worstWindow(times, 1000)).toBeLessThanOrEqual(20);
  });

  // Judged by counts, not by how many a busy machine managed to start in a second.
  it('is not a crawl: rps requests start at once, and only the next one waits for the window', async () => {
    const limit = createRateLimit(20);
    const first = Date.now();
    let started = 0;
    const all = Array.from({ length: 21 }, () => acquire(limit).then(() => (started += 1)));
    // No timer is involved in starting the first 20, so by the next turn of the event loop all of
    // them have, however busy the machine is.
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(20);
    await Promise.all(all);
    expect(started).toBe(21);
    // The window is a second and 10% (MARGIN in rate-limit.ts).
    expect(Date.now() - first).toBeGreaterThanOrEqual(1100);
  });

  it('is shared across threads through its SharedArrayBuffer', async () => {
    const limit = createRateLimit(10);
    // A worker that only bumps the shared ring (as a real worker's requests would) fills the cap.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const cells = new BigInt64Array(workerData.buffer);
      const now = BigInt(Date.now());
      for (let i = 0; i < 10; i++) cells[2 + i] = now;
      parentPort.postMessage(Number(now));`;
    const worker = new Worker(source, { eval: true, workerData: limit });
    const filledAt = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    await acquire(limit);
    // Measured from the worker's requests, not from when this thread got round to asking: on a
    // busy machine, the message and terminate() alone can take a good part of the window.
    expect(Date.now() - filledAt).toBeGreaterThanOrEqual(1100);
  });
});

/** A shared store's grants, in memory: the same GCRA as `rate_limits` (slots 1.1/rps s apart). */
function fakeStore(rps: number) {
  const spacing = 1100 / rps;
  let next = 0;
  const store = {
    calls: 0,
    async grant(n: number): Promise<number[]> {
      store.calls++;
      await sleep(2); // a round trip
      const start = Math.max(next, Date.now());
      next = start + n * spacing;
      return Array.from({ length: n }, (_, i) => start + i * spacing);
    },
  };
  return store;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Takes `count` slots on a real worker thread (the TypeScript source loaded through tsx). */
function onThread(limit: RateLimit, count: number): Promise<number[]> {
  const file = new URL('../fixtures/slot-worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(file)}, ${JSON.stringify(import.meta.url)}))`;
  const worker = new Worker(code, { eval: true, workerData: { limit, count } });
  return new Promise<number[]>((resolve, reject) => {
    worker.once('message', (times: number[]) => resolve(times));
    worker.once('error', reject);
  }).finally(() => worker.terminate());
}

describe('rate limit shared through a store', () => {
  it('keeps two processes, each with worker threads, under one cap in every second', async () => {
    const rps = 20;
    const store = fakeStore(rps);
    const limits = [createRateLimit(rps, { shared: true }), createRateLimit(rps, { shared: true })];
    const feeds = limits.map((l) => startSlotFeed(l, (n) => store.grant(n)));
    try {
      const times = (await Promise.all(limits.flatMap((l) => [onThread(l, 10), onThread(l, 10)]))).flat();
      expect(times).toHaveLength(40);
      expect(worstWindow(times, 1000)).toBeLessThanOrEqual(rps);
      // Batches of rps/5: a handful of grants, not one per request.
      expect(store.calls).toBeLessThan(40 / 2);
    } finally {
      for (const f of feeds) f.stop();
    }
  });

  it('waits, without failing, while the queue is empty', async () => {
    const limit = createRateLimit(10, { shared: true });
    const feed = startSlotFeed(limit, async (n) => {
      await sleep(300); // a slow store
      return Array.from({ length: n }, (_, i) => Date.now() + i * 110);
    });
    try {
      // It resolves (never throws) once the slow store has answered. Not counted: a grant's slots
      // can go stale before a busy thread wakes to take them, and then it waits for the next one.
      const before = Date.now();
      await acquire(limit);
      expect(Date.now() - before).toBeGreaterThanOrEqual(300 - 5);
    } finally {
      feed.stop();
    }
  });

  it('drops slots that went stale and waits for fresh ones', async () => {
    const limit = createRateLimit(20, { shared: true });
    const store = fakeStore(20);
    let first = true;
    const granted: number[] = [];
    const feed = startSlotFeed(limit, async (n) => {
      // The first batch arrives too late to use (a paused process): every slot is in the past.
      const times = first ? Array.from({ length: n }, (_, i) => Date.now() - 1000 + i) : await store.grant(n);
      first = false;
      granted.push(...times);
      return times;
    });
    try {
      await acquire(limit);
      const now = Date.now();
      expect(store.calls).toBeGreaterThanOrEqual(1);
      // It started on a fresh slot, never on one of the stale ones.
      expect(granted.some((t) => t >= now - 1000 + 10 && t <= now + 1)).toBe(true);
    } finally {
      feed.stop();
    }
  });

  it('asks nothing more of the store while nobody takes slots', async () => {
    const limit = createRateLimit(20, { shared: true });
    const store = fakeStore(20);
    const feed = startSlotFeed(limit, (n) => store.grant(n));
    await sleep(300);
    feed.stop();
    expect(store.calls).toBe(1);
  });

  it('reports a failed grant, and callers still get a slot once the store answers again', async () => {
    const limit = createRateLimit(20, { shared: true });
    const store = fakeStore(20);
    const errors: unknown[] = [];
    let calls = 0;
    const feed = startSlotFeed(
      limit,
      async (n) => {
        if (calls++ === 0) throw new Error('store down');
        return store.grant(n);
      },
      { onError: (e) => errors.push(e) },
    );
    try {
      await acquire(limit);
      expect(errors).toEqual([new Error('store down')]);
      expect(store.calls).toBeGreaterThanOrEqual(1);
    } finally {
      feed.stop();
    }
  });

  it('needs a limit created with { shared: true }', () => {
    expect(() => startSlotFeed(createRateLimit(5), () => Promise.resolve([]))).toThrow(TypeError);
  });
});
