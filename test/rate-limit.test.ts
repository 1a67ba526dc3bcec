import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { acquire, createRateLimit } from '../src/s3/rate-limit.js';

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
    expect(worstWindow(times, 1000)).toBeGreaterThanOrEqual(15);
  });

  it('is shared across threads through its SharedArrayBuffer', async () => {
    const limit = createRateLimit(10);
    // A worker that only bumps the shared ring (as a real worker's requests would) fills the cap.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const cells = new BigInt64Array(workerData.buffer);
      const now = BigInt(Date.now());
      for (let i = 0; i < 10; i++) cells[2 + i] = now;
      parentPort.postMessage('filled');`;
    const worker = new Worker(source, { eval: true, workerData: limit });
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    const before = Date.now();
    await acquire(limit);
    expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
  });
});
