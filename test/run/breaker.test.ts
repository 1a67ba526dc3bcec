import { describe, expect, it } from 'vitest';
import { Breaker } from '../../src/run/breaker.js';

describe('Breaker', () => {
  it('trips after the threshold of unreachable files in a row, and a file that reached the server resets it', () => {
    const b = new Breaker(3);
    expect(b.unreachable()).toBe(false);
    expect(b.unreachable()).toBe(false);
    b.reached();
    expect(b.count).toBe(0);
    expect(b.unreachable()).toBe(false);
    expect(b.unreachable()).toBe(false);
    expect(b.unreachable()).toBe(true);
    expect(b.count).toBe(3);
  });
});
