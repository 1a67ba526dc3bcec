// AWS Signature Version 4 for the requests this tool sends (GET and ListObjectsV2, no body), with
// node:crypto alone. Importing @smithy/signature-v4 cost each worker thread ~73 ms of CPU and
// ~13 MB (measured here), for a signature that is a canonical request, one SHA-256 and one HMAC.
import { createHash, createHmac } from 'node:crypto';
import type { Credentials } from '../types.js';
import { serverNow } from './clock.js';

const SERVICE = 's3';

/** RFC 3986 escaping as SigV4 wants it: encodeURIComponent leaves !'()* alone, AWS does not. */
export function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/bucket/a/b.csv.gz` for a key, each segment escaped: sent as is, and signed as sent. */
export function objectPath(base: string, bucket: string, key: string): string {
  return `${base}/${uriEscape(bucket)}/${key.split('/').map(uriEscape).join('/')}`;
}

export interface SignInput {
  method: 'GET';
  /** Already escaped (objectPath). */
  path: string;
  query?: Record<string, string> | undefined;
  /** The Host header as sent (host[:port]). */
  host: string;
  /** Extra headers to sign and send, lower-case names (e.g. range). */
  headers?: Record<string, string> | undefined;
}

/**
 * Signs requests for one region, with the credentials of each request (temporary ones change
 * mid-run); the signing key is derived once per UTC day and secret.
 */
export class SigV4 {
  readonly #region: string;
  #keyDay = '';
  #keySecret = '';
  #key: Buffer = Buffer.alloc(0);

  constructor(region: string) {
    this.#region = region;
  }

  /**
   * The headers to send: the input's, plus x-amz-date, x-amz-content-sha256, the token if any, and
   * authorization. Signed at local time plus the clock offset the server taught us (clock.ts).
   */
  sign(input: SignInput, credentials: Credentials, now = serverNow()): Record<string, string> {
    const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const { sessionToken } = credentials;
    const headers: Record<string, string> = {
      host: input.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': amzDate,
      ...(sessionToken ? { 'x-amz-security-token': sessionToken } : {}),
      ...input.headers,
    };
    const names = Object.keys(headers).sort();
    const signedHeaders = names.join(';');
    const query = canonicalQuery(input.query ?? {});
    const canonical = [
      input.method,
      input.path,
      query,
      ...names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}`),
      '',
      signedHeaders,
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const scope = `${day}/${this.#region}/${SERVICE}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.#signingKey(day, credentials.secretAccessKey)).update(toSign).digest('hex');
    headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  #signingKey(day: string, secret: string): Buffer {
    if (day !== this.#keyDay || secret !== this.#keySecret) {
      let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest();
      for (const part of [this.#region, SERVICE, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
      this.#key = key;
      this.#keyDay = day;
      this.#keySecret = secret;
    }
    return this.#key;
  }
}

/** The query string as signed, and as it should be sent: escaped, sorted by name then value. */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEscape(k), uriEscape(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? cmp(x, y) : cmp(a, b)))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Code-point order, as SigV4 sorts (localeCompare would not). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
