import { describe, expect, it } from 'vitest';
import { AnswerCache, splitAnswer, type CachedAnswer } from '../../src/serve/cache.js';

const join = (a: CachedAnswer, id: string): string => `${a.head.toString()}${id}${a.tail.toString()}`;

const ID = '0123456789abcdef0123456789abcdef';
const answer = (n: number) => splitAnswer(JSON.stringify({ status: 'OK', request_id: ID, pad: 'x'.repeat(n) }), ID);

describe('AnswerCache', () => {
  it('puts a new request_id into a cached answer, byte for byte what JSON.stringify gives', () => {
    const body = { results: [{ t: 1, c: 2.5 }], status: 'OK', request_id: ID, next_url: 'http://h/x?cursor=a' };
    const parts = splitAnswer(JSON.stringify(body), ID);
    if (parts === undefined) throw new Error('no id found');
    const other = 'fedcba9876543210fedcba9876543210';
    expect(join(parts, other)).toBe(JSON.stringify({ ...body, request_id: other }));
    expect(splitAnswer(JSON.stringify({ status: 'OK' }), ID)).toBeUndefined();
  });

  it('evicts the least recently used answers past its bytes, and refuses one larger than a quarter of them', () => {
    const cache = new AnswerCache(4000);
    const a = answer(600);
    if (a === undefined) throw new Error('no id');
    for (const k of ['a', 'b', 'c', 'd', 'e']) cache.set(k, a, cache.generation);
    // Each costs ~700 bytes: five fit in 4000.
    expect(cache.size).toBe(5);
    cache.get('a'); // a is now the most recent
    cache.set('f', a, cache.generation);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(4000);
    const big = answer(1200);
    if (big === undefined) throw new Error('no id');
    cache.set('big', big, cache.generation);
    expect(cache.get('big')).toBeUndefined();
  });

  it('drops everything on clear, and an answer computed across a clear is not stored', () => {
    const cache = new AnswerCache(1 << 20);
    const a = answer(10);
    if (a === undefined) throw new Error('no id');
    cache.set('a', a, cache.generation);
    const before = cache.generation;
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(0);
    cache.set('late', a, before);
    expect(cache.get('late')).toBeUndefined();
  });
});
