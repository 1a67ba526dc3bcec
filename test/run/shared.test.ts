import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobWatch, startRateLimit } from '../../src/run/shared.js';
import { FakeQueue, settle } from '../fixtures/run-fakes.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('JobWatch', () => {
  it('refreshes the whole-job counts on a timer and tells after each refresh, until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const queue = new FakeQueue({ processId: 3 });
    queue.jobCounts = { files: 10, done: 4, claimed: 2, failed: 0, pending: 4 };
    const watch = new JobWatch();
    let told = 0;
    const stop = watch.watch(queue, () => (told += 1), 1_000);
    expect(watch.counts).toBeUndefined();
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(watch.counts).toEqual(queue.jobCounts);
    expect(told).toBe(1);
    stop();
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(told).toBe(1);
  });

  it('skips a refresh while the last one is still out, and ignores a failed one', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const queue = new FakeQueue({ processId: 3 });
    let answer: (() => void) | undefined;
    queue.counts = () => {
      queue.log.push('counts');
      return new Promise((_, reject) => (answer = () => reject(new Error('store busy'))));
    };
    const watch = new JobWatch();
    const stop = watch.watch(queue, () => undefined, 100);
    vi.advanceTimersByTime(350);
    expect(queue.log).toEqual(['counts']);
    answer?.();
    await settle();
    vi.advanceTimersByTime(100);
    expect(queue.log).toEqual(['counts', 'counts']);
    expect(watch.counts).toBeUndefined();
    stop();
  });

  it('reads the final counts and processes, and reports them for a shared store only', async () => {
    const queue = new FakeQueue({ processId: 3 });
    queue.jobCounts = { files: 2, done: 2, claimed: 0, failed: 0, pending: 0 };
    const watch = new JobWatch();
    expect(watch.report(3)).toBeUndefined(); // never counted
    await watch.final(queue);
    expect(queue.log).toEqual(['counts', 'processes']);
    expect(watch.report(3)).toEqual({ files: 2, done: 2, claimed: 0, failed: 0, pending: 0, processId: 3, processes: [] });
    expect(watch.report(undefined)).toBeUndefined();
  });
});

describe('startRateLimit', () => {
  it('no cap: no rate limit', () => {
    const { rateLimit, stop } = startRateLimit(undefined, new FakeQueue(), () => undefined);
    expect(rateLimit).toBeUndefined();
    stop();
  });

  it("a store that grants no slots: this process's own cap", () => {
    const { rateLimit, stop } = startRateLimit(20, new FakeQueue(), () => undefined);
    expect(rateLimit?.rps).toBe(20);
    expect(rateLimit?.slots).toBeUndefined();
    stop();
  });

  it('a store that grants slots: a shared cap fed from its grants, and a failed grant reaches onError', async () => {
    const queue = new FakeQueue({ processId: 1 });
    const asked: Array<[number, number]> = [];
    queue.rateSlots = (rps, n) => {
      asked.push([rps, n]);
      return Promise.reject(new Error('store gone'));
    };
    const errors: unknown[] = [];
    const { rateLimit, stop } = startRateLimit(20, queue, (e) => errors.push(e));
    expect(rateLimit?.slots).toBeInstanceOf(SharedArrayBuffer);
    await settle();
    stop();
    expect(asked[0]?.[0]).toBe(20);
    expect(errors).toEqual([new Error('store gone')]);
  });
});
