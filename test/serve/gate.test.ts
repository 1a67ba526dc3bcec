import { describe, expect, it } from 'vitest';
import { Gate, ShedError } from '../../src/serve/gate.js';

const never = new AbortController().signal;

describe('Gate', () => {
  it('runs at most `concurrency` at once, queues up to `queue`, refuses the next at once', async () => {
    const gate = new Gate(2, 1);
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const task = () =>
      gate.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((r) => releases.push(r));
        running -= 1;
      }, never);
    const held = [task(), task(), task()];
    expect(gate.running).toBe(2);
    expect(gate.waiting).toBe(1);
    await expect(task()).rejects.toThrow(ShedError);
    while (releases.length > 0 || gate.running > 0) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(held);
    expect(most).toBe(2);
    expect(gate.running).toBe(0);
  });

  it('starts a task on a turn of the event loop of its own, so requests parsed meanwhile are queued or refused', async () => {
    const gate = new Gate(1, 0);
    const order: string[] = [];
    const sync = (name: string) => async () => void order.push(name);
    const first = gate.run(sync('first'), never);
    // Nothing has run yet: the second finds the slot taken and no queue.
    await expect(gate.run(sync('second'), never)).rejects.toThrow(ShedError);
    await first;
    expect(order).toEqual(['first']);
  });

  it('removes a waiting task whose signal aborts, without running it', async () => {
    const gate = new Gate(1, 5);
    let release = (): void => {};
    const first = gate.run(() => new Promise<void>((r) => (release = r)), never);
    // It starts on the next turn of the event loop.
    await new Promise((r) => setImmediate(r));
    const abort = new AbortController();
    let ran = false;
    const second = gate.run(async () => {
      ran = true;
    }, abort.signal);
    abort.abort(new Error('time limit'));
    await expect(second).rejects.toThrow('time limit');
    expect(gate.waiting).toBe(0);
    release();
    await first;
    expect(ran).toBe(false);
    expect(gate.running).toBe(0);
  });
});
