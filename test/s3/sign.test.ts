import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { objectPath, SigV4, uriEscape } from '../../src/s3/sign.js';

/** The SDK's own signer, as the workers used it before sign.ts: the reference. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
class Sha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

const now = new Date('2026-11-30T01:02:03.456Z');

async function reference(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
  path: string,
  query: Record<string, string>,
  extra: Record<string, string>,
) {
  const signer = new SignatureV4({ credentials, region, service: 's3', sha256: Sha256, uriEscapePath: false });
  const signed = await signer.sign(
    { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query, headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra } },
    { signingDate: now },
  );
  return signed.headers['authorization'];
}

interface Case {
  name: string;
  region: string;
  key: string;
  query: Record<string, string>;
  extra: Record<string, string>;
}

describe('SigV4', () => {
  it.each<Case>([
    { name: 'an object GET', region: 'us-east-1', key: 'us_stocks_sip/day_aggs_v1/2024/03/2024-03-15.csv.gz', query: {}, extra: {} },
    { name: 'a ranged GET of a key that needs escaping', region: 'us-east-1', key: "odd/it's (1) *x* ~a b+c.csv.gz", query: {}, extra: { range: 'bytes=100-' } },
    { name: 'a ListObjectsV2 page', region: 'us-east-1', key: '', query: { 'list-type': '2', prefix: 'us_stocks_sip/day_aggs_v1/2024/03/', 'continuation-token': 'a+b/c=' }, extra: {} },
    { name: 'an object GET in another region', region: 'eu-central-1', key: 'us_stocks_sip/day_aggs_v1/2024/03/2024-03-15.csv.gz', query: {}, extra: {} },
    { name: 'a ListObjectsV2 page in another region', region: 'auto', key: '', query: { 'list-type': '2', prefix: 'us_stocks_sip/' }, extra: {} },
  ])('signs $name ($region) as the SDK signer does', async ({ region, key, query, extra }) => {
    for (const credentials of [
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars=' },
    ]) {
      const path = key === '' ? '/flatfiles' : objectPath('', 'flatfiles', key);
      const headers = new SigV4(region).sign({ method: 'GET', path, query, host: '127.0.0.1:9000', headers: extra }, credentials, now);
      expect(headers['authorization']).toBe(await reference(credentials, region, path, query, extra));
      expect(headers['authorization']).toContain(`/20261130/${region}/s3/aws4_request`);
      expect(headers['x-amz-date']).toBe('20261130T010203Z');
      expect(headers['x-amz-security-token']).toBe(credentials.sessionToken);
    }
  });

  it('signs each request with the credentials given to it: one signer across renewed sets', async () => {
    const signer = new SigV4('us-east-1');
    const path = objectPath('', 'flatfiles', 'a/b.csv.gz');
    for (const credentials of [
      { accessKeyId: 'ASIAONE', secretAccessKey: 'first-secret', sessionToken: 'token-1' },
      { accessKeyId: 'ASIATWO', secretAccessKey: 'second-secret', sessionToken: 'token-2' },
      { accessKeyId: 'ASIAONE', secretAccessKey: 'first-secret', sessionToken: 'token-1' },
    ]) {
      const headers = signer.sign({ method: 'GET', path, host: '127.0.0.1:9000' }, credentials, now);
      expect(headers['authorization']).toBe(await reference(credentials, 'us-east-1', path, {}, {}));
      expect(headers['x-amz-security-token']).toBe(credentials.sessionToken);
    }
  });

  it('escapes as RFC 3986 does, where encodeURIComponent does not', () => {
    expect(uriEscape("a!b'c(d)e*f g~h_i.j-k/l")).toBe('a%21b%27c%28d%29e%2Af%20g~h_i.j-k%2Fl');
    expect(objectPath('/base', 'bkt', 'a b/c.gz')).toBe('/base/bkt/a%20b/c.gz');
  });
});
