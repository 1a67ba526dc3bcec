import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, watchThrottles } from '../../src/run/limit.js';

describe('AdaptiveLimit', () => {
  it('halves on a throttle, at most once per cooldown, and climbs back by one per calm round', () => {
    const limit = new AdaptiveLimit(20, { cooldownMs: 500 });
    limit.throttled(1_000);
    expect(limit.current).toBe(10);
    limit.throttled(1_200); // answers to requests sent before the cut
    expect(limit.current).toBe(10);
    limit.throttled(1_600);
    expect(limit.current).toBe(5);
    for (let i = 0; i < 4; i++) limit.calm();
    expect(limit.current).toBe(5);
    limit.calm(); // five calm completions at a limit of five
    expect(limit.current).toBe(6);
    for (let i = 0; i < 1_000; i++) limit.calm();
    expect(limit.current).toBe(20); // never above the maximum
  });

  it('from a lower start, grows by one per calm completion until the first throttle', () => {
    const limit = new AdaptiveLimit(20, { start: 4, cooldownMs: 0 });
    expect(limit.current).toBe(4);
    for (let i = 0; i < 4; i++) limit.calm();
    expect(limit.current).toBe(8); // one round of completions doubles it
    limit.throttled(0); // 4, and back to one more per calm round
    for (let i = 0; i < 3; i++) limit.calm();
    expect(limit.current).toBe(4);
    limit.calm();
    expect(limit.current).toBe(5);
    for (let i = 0; i < 1_000; i++) limit.calm();
    expect(limit.current).toBe(20);
  });

  it('never drops below one', () => {
    const limit = new AdaptiveLimit(2, { cooldownMs: 0 });
    for (let t = 0; t < 10; t++) limit.throttled(t);
    expect(limit.current).toBe(1);
  });

  it('a throttle resets the calm count', () => {
    const limit = new AdaptiveLimit(4, { cooldownMs: 0 });
    limit.throttled(0); // 2
    limit.calm();
    limit.throttled(1); // 1
    limit.calm(); // one calm completion at a limit of one
    expect(limit.current).toBe(2);
  });
});

describe('watchThrottles', () => {
  it('calls back when worker threads bump the shared counter', async () => {
    const signal = new SharedArrayBuffer(4);
    let heard = 0;
    const stop = watchThrottles(signal, () => (heard += 1), 10);
    await new Promise((r) => setTimeout(r, 40));
    expect(heard).toBe(0);
    Atomics.add(new Int32Array(signal), 0, 3);
    await new Promise((r) => setTimeout(r, 40));
    stop();
    expect(heard).toBe(1);
  });
});
