import { createHash } from 'node:crypto';
import { IntegrityError } from '../errors.js';

/** A plain 32-hex ETag is the MD5 of the body; a multipart one (`<hex>-<parts>`) is not. */
export function isPlainMd5(etag: string): boolean {
  return /^[0-9a-f]{32}$/i.test(etag);
}

/**
 * Checks a downloaded body against its listing: the byte count must equal the listed size and,
 * where the ETag is a plain MD5, the digest must match. Throws IntegrityError otherwise.
 * @returns whether the MD5 was checked (false for multipart ETags, where only the length can be).
 */
export function verifyBody(key: string, body: Uint8Array, expected: { size: number; etag: string }): boolean {
  if (body.byteLength !== expected.size) {
    throw new IntegrityError(key, `${key}: received ${body.byteLength} bytes, the listing says ${expected.size}`);
  }
  if (!isPlainMd5(expected.etag)) return false;
  const md5 = createHash('md5').update(body).digest('hex');
  if (md5 !== expected.etag.toLowerCase()) {
    throw new IntegrityError(key, `${key}: MD5 ${md5} does not match the listed ETag ${expected.etag}`);
  }
  return true;
}
