// Object GETs for the worker threads: SigV4-signed requests sent with node:http(s) on a
// keep-alive agent. The benchmark's floors: the full S3 client costs 3.4 s of CPU for five years
// of day files, fetch 2.5 s, node:http 1.2 s; a GET needs only a signature (sign.ts).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DEFAULT_REGION, type S3Config } from './client.js';
import { currentCredentials, type S3Credentials } from './credentials.js';
import { objectPath, SigV4 } from './sign.js';

/** An S3 error answer, shaped like the SDK's errors so one classifier serves both. */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $response: { headers: Record<string, string | undefined> };
  /** From the XML body, as the SDK names them: where a 301 PermanentRedirect says to go. */
  readonly Endpoint: string | undefined;
  /** The region an AuthorizationHeaderMalformed answer expects. */
  readonly Region: string | undefined;
  /** The server's clock, in a RequestTimeTooSkewed answer. */
  readonly ServerTime: string | undefined;
  /** Which set of renewing credentials signed the refused request (credentials.ts), so an ExpiredToken asks for a newer one. */
  readonly credentialsVersion: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    o: { headers?: Record<string, string | undefined>; body?: Record<string, string | undefined>; credentialsVersion?: number | undefined } = {},
  ) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
    this.$response = { headers: o.headers ?? {} };
    this.Endpoint = o.body?.['Endpoint'];
    this.Region = o.body?.['Region'];
    this.ServerTime = o.body?.['ServerTime'];
    this.credentialsVersion = o.credentialsVersion;
  }
}

/** A 200 or 206 answer; `body` yields Buffers. */
export interface GetResponse {
  status: number;
  body: IncomingMessage;
}

export type GetObject = (key: string, init: { range?: string; signal: AbortSignal }) => Promise<GetResponse>;

// One pool of sockets per thread, kept alive across tasks; the in-flight cap is the run's.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/** A signed GET for `config`: resolves with a 200/206 response, rejects with S3HttpError otherwise. */
export function createGetObject(config: S3Config): GetObject {
  const endpoint = new URL(config.endpoint);
  const signer = new SigV4(config.region ?? DEFAULT_REGION);
  const base = endpoint.pathname.replace(/\/$/, '');
  const https = endpoint.protocol === 'https:';
  return async (key, { range, signal }) => {
    const path = objectPath(base, config.bucket, key);
    // The newest set this thread knows: temporary credentials are renewed mid-run.
    const credentials = currentCredentials(config.credentials);
    const headers = signer.sign({ method: 'GET', path, host: endpoint.host, headers: range ? { range } : undefined }, credentials);
    const res = await send(https, { hostname: endpoint.hostname, port: endpoint.port || (https ? 443 : 80), path, headers, signal });
    const status = res.statusCode ?? 0;
    if (status === 200 || status === 206) return { status, body: res };
    throw await errorOf(res, credentials);
  };
}

/**
 * A request's signal: aborted when `parent` aborts (the pool stopping, the run's abort) or after
 * `ms` without a complete answer. One timer and one listener, both released by `done()`;
 * `AbortSignal.any([AbortSignal.timeout(ms), parent])` per request left each derived signal
 * attached to the long-lived parent until collected.
 */
export function requestSignal(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no complete answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/** One request on this thread's keep-alive agents. */
export function send(
  https: boolean,
  o: { hostname: string; port: string | number; path: string; headers: Record<string, string>; signal: AbortSignal | undefined },
): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)({ ...o, method: 'GET', agent: https ? httpsAgent : httpAgent }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The response headers an error classifier reads. */
const ERROR_HEADERS = ['retry-after', 'date', 'x-amz-bucket-region'] as const;

/** Reads an S3 error answer (XML with a <Code>) to a request signed with `credentials` into an S3HttpError. */
export async function errorOf(res: IncomingMessage, credentials: S3Credentials): Promise<S3HttpError> {
  const status = res.statusCode ?? 0;
  let text = '';
  for await (const chunk of res) text += String(chunk);
  const field = (tag: string): string | undefined => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(text)?.[1];
  const code = field('Code') ?? `Http${status}`;
  const headers: Record<string, string | undefined> = {};
  for (const name of ERROR_HEADERS) {
    const value = res.headers[name];
    headers[name] = Array.isArray(value) ? value[0] : value;
  }
  return new S3HttpError(status, code, `${code} (HTTP ${status})`, {
    headers,
    body: { Endpoint: field('Endpoint'), Region: field('Region'), ServerTime: field('ServerTime') },
    credentialsVersion: credentials.renewal?.version,
  });
}
