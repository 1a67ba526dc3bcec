// The token: accepted as the provider's clients send their key (`Authorization: Bearer <key>`
// from the Go and Python clients, `?apiKey=<key>` from the JavaScript one), compared in constant
// time. Both sides are hashed first: timingSafeEqual needs equal lengths, and comparing digests
// tells nothing of the token's length either.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The environment variable the token is read from when no option gives it. */
export const TOKEN_ENV = 'PRELOAD_SERVE_TOKEN';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A check of a presented key against `token`. */
export function tokenCheck(token: string): (presented: string | undefined) => boolean {
  const want = digest(token);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), want);
}

/** The key a request presents: its Bearer token, else its `apiKey` query parameter. */
export function presentedKey(authorization: string | undefined, apiKey: unknown): string | undefined {
  if (authorization !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (m?.[1] !== undefined) return m[1];
  }
  if (typeof apiKey === 'string') return apiKey;
  // A repeated apiKey: the last one, as every other query parameter.
  if (Array.isArray(apiKey)) {
    const last: unknown = apiKey.at(-1);
    return typeof last === 'string' ? last : undefined;
  }
  return undefined;
}

/** Whether `host` is a loopback address, which may be bound without a token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
