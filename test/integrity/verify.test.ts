import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/errors.js';
import { BodyCheck, isPlainMd5, verifyBody } from '../../src/integrity/verify.js';

const body = Buffer.from('ticker,volume\nTSLA,1\n');
const md5 = createHash('md5').update(body).digest('hex');

describe('BodyCheck (as bytes arrive)', () => {
  it('gives the same verdict chunk by chunk as for the whole body', () => {
    const check = new BodyCheck('k', { size: body.length, etag: md5 });
    for (let at = 0; at < body.length; at += 5) check.update(body.subarray(at, at + 5));
    expect(check.received).toBe(body.length);
    expect(check.finish()).toBe(true);
  });

  it('stops a body that runs past the listed size at once', () => {
    const check = new BodyCheck('k', { size: 10, etag: md5 });
    check.update(body.subarray(0, 10));
    expect(() => check.update(body.subarray(10, 11))).toThrow(/received more than the 10 bytes the listing says/);
  });
});

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
