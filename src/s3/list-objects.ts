// ListObjectsV2 without the AWS SDK: one signed GET (sign.ts) and a small reader for the XML
// answer. Loading @aws-sdk/client-s3 cost the main thread ~170 ms of CPU and ~24 MB at start-up
// (measured here), and its XML and schema layers more per page, for the five fields a listing needs.
import { retry, s3RetryAfterMs } from '../retry.js';
import { DEFAULT_REGION, type S3Config } from './client.js';
import { currentCredentials, renewedCredentials } from './credentials.js';
import { errorOf, requestSignal, S3HttpError, send } from './get.js';
import { correctClock } from './clock.js';
import { acquire, type RateLimit } from './rate-limit.js';
import { refusalOf } from './refusal.js';
import { canonicalQuery, SigV4 } from './sign.js';

export interface ListInput {
  Bucket: string;
  Prefix: string;
  ContinuationToken?: string | undefined;
  Delimiter?: string;
}

/** A page of ListObjectsV2, with the SDK's field names so the listing code reads either. */
export interface ListPage {
  Contents?: Array<{ Key?: string; Size?: number; ETag?: string; LastModified?: Date }>;
  CommonPrefixes?: Array<{ Prefix?: string }>;
  IsTruncated?: boolean;
  NextContinuationToken?: string;
}

export type ListObjects = (input: ListInput, opts?: { abortSignal?: AbortSignal | undefined }) => Promise<ListPage>;

/**
 * A ListObjectsV2 call for `config` (path-style). Rejects with S3HttpError (the SDK's `name` and
 * `$metadata.httpStatusCode`) on an error answer, and with Node's network error (its `code`) when
 * the endpoint cannot be reached; every request first waits for the shared rate cap, if any.
 */
export function createListObjects(config: S3Config, opts: { rateLimit?: RateLimit | undefined; timeoutMs?: number } = {}): ListObjects {
  const timeoutMs = opts.timeoutMs ?? LIST_TIMEOUT_MS;
  const endpoint = new URL(config.endpoint);
  const signer = new SigV4(config.region ?? DEFAULT_REGION);
  const https = endpoint.protocol === 'https:';
  const path = `${endpoint.pathname.replace(/\/$/, '')}/${encodeURIComponent(config.bucket)}`;
  const once: ListObjects = async (input, { abortSignal } = {}) => {
    if (opts.rateLimit) await acquire(opts.rateLimit);
    const query: Record<string, string> = { 'list-type': '2', prefix: input.Prefix };
    if (input.ContinuationToken !== undefined) query['continuation-token'] = input.ContinuationToken;
    if (input.Delimiter !== undefined) query['delimiter'] = input.Delimiter;
    const credentials = currentCredentials(config.credentials);
    const headers = signer.sign({ method: 'GET', path, query, host: endpoint.host }, credentials);
    // A stalled page is cut and retried, as the SDK's request timeout did.
    const request = requestSignal(abortSignal, timeoutMs);
    try {
      const res = await send(https, { hostname: endpoint.hostname, port: endpoint.port || (https ? 443 : 80), path: `${path}?${canonicalQuery(query)}`, headers, signal: request.signal });
      if (res.statusCode !== 200) throw await errorOf(res, credentials);
      let xml = '';
      res.setEncoding('utf8');
      for await (const chunk of res) xml += chunk as string;
      return parseListPage(xml);
    } catch (error) {
      if (request.timedOut()) throw Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw error;
    } finally {
      request.done();
    }
  };
  // The SDK retried a failed page (3 attempts, backoff): so does this, for what may pass. A
  // SlowDown's Retry-After is waited instead of the backoff.
  return (input, o = {}) =>
    retry(() => once(input, o), {
      retries: LIST_ATTEMPTS - 1,
      baseMs: LIST_BACKOFF_MS,
      capMs: LIST_MAX_WAIT_MS,
      signal: o.abortSignal,
      retryAfterMs: s3RetryAfterMs,
      shouldRetry: async ({ error }) => transient(error) || (await cured(config, error, o.abortSignal)),
    });
}

const LIST_ATTEMPTS = 3;
/** The SDK's request timeout for a page, kept. */
const LIST_TIMEOUT_MS = 60_000;
const LIST_BACKOFF_MS = 100;
/** The longest wait between two attempts, a server's Retry-After included. */
const LIST_MAX_WAIT_MS = 30_000;

/**
 * A refusal that the next attempt will not meet: a clock the server says is off, corrected from
 * its time (clock.ts), or an expired session token, renewed (credentials.ts).
 */
async function cured(config: S3Config, error: unknown, signal: AbortSignal | undefined): Promise<boolean> {
  const refusal = refusalOf(error, config.bucket);
  if (refusal?.kind === 'clock-skew') return correctClock(refusal.serverTime);
  if (refusal?.kind !== 'expired-token' || !(error instanceof S3HttpError)) return false;
  return (await renewedCredentials(config.credentials, error.credentialsVersion ?? 0, signal)) !== undefined;
}

/** A 5xx, a 429 or a connection cut mid-way; not a refusal (the run's breaker handles those). */
function transient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  const code = (error as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}

/** Reads the fields of a ListObjectsV2 answer; exported for table-driven tests. */
export function parseListPage(xml: string): ListPage {
  const contents = blocks(xml, 'Contents').map((c) => {
    const size = text(c, 'Size');
    const modified = text(c, 'LastModified');
    return {
      ...optional('Key', text(c, 'Key')),
      ...optional('Size', size === undefined ? undefined : Number(size)),
      ...optional('ETag', text(c, 'ETag')),
      ...optional('LastModified', modified === undefined ? undefined : new Date(modified)),
    };
  });
  const prefixes = blocks(xml, 'CommonPrefixes').map((p) => optional('Prefix', text(p, 'Prefix')));
  return {
    Contents: contents,
    CommonPrefixes: prefixes,
    IsTruncated: text(xml, 'IsTruncated') === 'true',
    ...optional('NextContinuationToken', text(xml, 'NextContinuationToken')),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

function blocks(xml: string, tag: string): string[] {
  const out: string[] = [];
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  for (let at = xml.indexOf(open); at !== -1; at = xml.indexOf(open, at)) {
    const end = xml.indexOf(close, at);
    if (end === -1) break;
    out.push(xml.slice(at + open.length, end));
    at = end + close.length;
  }
  return out;
}

/** The first `<tag>` of `xml`, entities decoded; undefined when absent. */
function text(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open === -1) return undefined;
  const end = xml.indexOf(`</${tag}>`, open);
  return end === -1 ? undefined : decode(xml.slice(open + tag.length + 2, end));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}
