import { createHash, type Hash } from 'node:crypto';
import { IntegrityError } from '../errors.js';

/** A plain 32-hex ETag is the MD5 of the body; a multipart one (`<hex>-<parts>`) is not. */
export function isPlainMd5(etag: string): boolean {
  return /^[0-9a-f]{32}$/i.test(etag);
}

/**
 * Checks a body against its listing as the bytes arrive: the byte count must equal the listed
 * size and, where the ETag is a plain MD5, the digest must match. One pass, no second read.
 */
export class BodyCheck {
  readonly #key: string;
  readonly #expected: { size: number; etag: string };
  readonly #md5: Hash | undefined;
  #received = 0;

  constructor(key: string, expected: { size: number; etag: string }) {
    this.#key = key;
    this.#expected = expected;
    this.#md5 = isPlainMd5(expected.etag) ? createHash('md5') : undefined;
  }

  get received(): number {
    return this.#received;
  }

  update(chunk: Uint8Array): void {
    this.#received += chunk.byteLength;
    if (this.#received > this.#expected.size) {
      throw new IntegrityError(this.#key, `${this.#key}: received more than the ${this.#expected.size} bytes the listing says`);
    }
    this.#md5?.update(chunk);
  }

  /** Throws IntegrityError on a mismatch. Returns whether the MD5 was checked (false for multipart ETags). */
  finish(): boolean {
    const { size, etag } = this.#expected;
    if (this.#received !== size) {
      throw new IntegrityError(this.#key, `${this.#key}: received ${this.#received} bytes, the listing says ${size}`);
    }
    if (!this.#md5) return false;
    const md5 = this.#md5.digest('hex');
    if (md5 !== etag.toLowerCase()) throw new IntegrityError(this.#key, `${this.#key}: MD5 ${md5} does not match the listed ETag ${etag}`);
    return true;
  }
}

/** Checks a whole body at once (see BodyCheck). */
export function verifyBody(key: string, body: Uint8Array, expected: { size: number; etag: string }): boolean {
  const check = new BodyCheck(key, expected);
  check.update(body);
  return check.finish();
}
