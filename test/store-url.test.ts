import { describe, expect, it } from 'vitest';
import { isStoreUrl, maskUrl, redact, urlPasswords } from '../src/store-url.js';

describe('store URLs', () => {
  it.each([
    ['postgres://u:p@db:5432/market', true],
    ['postgresql://db/market', true],
    ['mysql://u:p@db/market', false],
    ['db:5432/market', false],
  ])('%s is a store URL: %s', (url, expected) => {
    expect(isStoreUrl(url)).toBe(expected);
  });

  it('masks the password, parseable or not', () => {
    expect(maskUrl('postgres://u:secret@db:5432/market')).toBe('postgres://u:***@db:5432/market');
    expect(maskUrl('postgres://u@db/market')).toBe('postgres://u@db/market');
    expect(maskUrl('postgres://u:se cret@db:5432/market')).not.toContain('se cret');
  });

  it('finds the password decoded and as written, and removes both from text', () => {
    const url = 'postgres://u:p%40ss%2Fw@db/market';
    expect(urlPasswords(url)).toEqual(['p@ss/w', 'p%40ss%2Fw']);
    expect(urlPasswords('postgres://u@db/market')).toEqual([]);
    expect(urlPasswords(undefined)).toEqual([]);
    expect(redact('auth failed for p@ss/w (p%40ss%2Fw)', url)).toBe('auth failed for *** (***)');
  });
});
