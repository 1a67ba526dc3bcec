// Object GETs for the worker threads: SigV4-signed requests sent with Node's fetch. The full S3
// client costs each thread ~24 MB, a slower start and ~1.5 ms of CPU per request (measured in the
// benchmark's profile); a GET needs only a signature. Listing stays on the SDK's client.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Config } from './client.js';

/** node:crypto behind the hash interface the signer expects (HMAC when given a secret). */
class Sha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** An S3 error answer, shaped like the SDK's errors so one classifier serves both. */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $response: { headers: Record<string, string | undefined> };

  constructor(status: number, code: string, message: string, headers: Headers) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
    this.$response = { headers: { 'retry-after': headers.get('retry-after') ?? undefined } };
  }
}

export type GetObject = (key: string, init: { range?: string; signal: AbortSignal }) => Promise<Response>;

/** A signed GET for `config`: resolves with a 200/206 response, rejects with S3HttpError otherwise. */
export function createGetObject(config: S3Config): GetObject {
  const endpoint = new URL(config.endpoint);
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    // S3 signs the path as sent: no second round of escaping.
    uriEscapePath: false,
  });
  const base = endpoint.pathname.replace(/\/$/, '');
  return async (key, { range, signal }) => {
    const path = `${base}/${config.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const signed = await signer.sign({
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path,
      query: {},
      headers: {
        host: endpoint.host,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        ...(range ? { range } : {}),
      },
    });
    const { host: _host, ...headers } = signed.headers;
    const res = await fetch(`${endpoint.origin}${path}`, { headers, signal });
    if (res.ok) return res;
    const body = await res.text().catch(() => '');
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? `Http${res.status}`;
    throw new S3HttpError(res.status, code, `${code} (HTTP ${res.status})`, res.headers);
  };
}
