import { describe, expect, it } from 'vitest';
import { isLoopback, presentedKey, tokenCheck } from '../../src/serve/auth.js';

describe('auth', () => {
  it('accepts the token only, whatever the length of what is presented', () => {
    const ok = tokenCheck('the-token-123');
    expect(ok('the-token-123')).toBe(true);
    for (const bad of ['the-token-12', 'the-token-1234', '', 'THE-TOKEN-123', undefined]) expect(ok(bad)).toBe(false);
  });

  it('reads the key as the clients send it: Bearer first, else the last apiKey', () => {
    expect(presentedKey('Bearer abc', 'zzz')).toBe('abc');
    expect(presentedKey('bearer  abc ', undefined)).toBe('abc');
    expect(presentedKey(undefined, 'q')).toBe('q');
    expect(presentedKey(undefined, ['a', 'b'])).toBe('b');
    expect(presentedKey('Basic xyz', undefined)).toBeUndefined();
    expect(presentedKey(undefined, undefined)).toBeUndefined();
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example']) expect(isLoopback(h)).toBe(false);
  });
});
