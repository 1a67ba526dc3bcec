import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../src/errors.js';
import { isPlainMd5, verifyBody } from '../src/integrity/verify.js';

const body = Buffer.from('ticker,volume\nTSLA,1\n');
const md5 = createHash('md5').update(body).digest('hex');

describe('verifyBody', () => {
  it('accepts the listed length and MD5', () => {
    expect(verifyBody('k', body, { size: body.length, etag: md5 })).toBe(true);
    expect(verifyBody('k', body, { size: body.length, etag: md5.toUpperCase() })).toBe(true);
  });

  it('checks only the length for a multipart ETag', () => {
    expect(isPlainMd5(`${md5}-3`)).toBe(false);
    expect(verifyBody('k', body, { size: body.length, etag: `${md5}-3` })).toBe(false);
  });

  it.each([
    [{ size: body.length + 1, etag: md5 }, /received 21 bytes, the listing says 22/],
    [{ size: body.length, etag: 'f'.repeat(32) }, /MD5 .* does not match/],
  ])('rejects %j', (expected, message) => {
    const fail = (): boolean => verifyBody('k', body, expected);
    expect(fail).toThrow(IntegrityError);
    expect(fail).toThrow(message);
  });
});
