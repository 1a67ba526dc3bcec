import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListObjects, parseListPage, type ListInput, type ListPage } from '../../src/s3/list-objects.js';
import { listDayFiles } from '../../src/s3/list.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { STOCKS, startWorld, type World } from '../e2e/helpers.js';

describe('parseListPage', () => {
  it.each<{ name: string; xml: string; page: ListPage }>([
    {
      name: 'objects, entities decoded, a truncated page',
      xml:
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated>' +
        '<Contents><Key>a/R&amp;D &#x41;&#66;.csv.gz</Key><LastModified>2024-01-03T16:00:00.000Z</LastModified>' +
        '<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>' +
        '<Contents><Key>a/b.csv.gz</Key><ETag>"abc-2"</ETag><Size>0</Size></Contents>' +
        '<NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>',
      page: {
        Contents: [
          { Key: 'a/R&D AB.csv.gz', LastModified: new Date('2024-01-03T16:00:00Z'), ETag: '"0123456789abcdef0123456789abcdef"', Size: 123 },
          { Key: 'a/b.csv.gz', ETag: '"abc-2"', Size: 0 },
        ],
        CommonPrefixes: [],
        IsTruncated: true,
        NextContinuationToken: 'tok/+=',
      },
    },
    {
      name: 'common prefixes, a last page',
      xml: '<ListBucketResult><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>d/2021/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>d/2022/</Prefix></CommonPrefixes></ListBucketResult>',
      page: { Contents: [], CommonPrefixes: [{ Prefix: 'd/2021/' }, { Prefix: 'd/2022/' }], IsTruncated: false },
    },
  ])('$name', ({ xml, page }) => {
    expect(parseListPage(xml)).toEqual(page);
  });
});

describe('createListObjects (real server)', () => {
  let w: World;
  let sdk: S3Client;
  beforeAll(async () => {
    w = await startWorld();
    sdk = new S3Client({ endpoint: w.server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3_CREDENTIALS } });
  });
  afterAll(async () => {
    sdk?.destroy();
    await w?.close();
  });

  /** Every page of a listing, with our client or the SDK's. */
  async function pages(list: (input: ListInput) => Promise<ListPage>, input: Omit<ListInput, 'Bucket'>): Promise<ListPage[]> {
    const out: ListPage[] = [];
    let token: string | undefined;
    do {
      const page = await list({ Bucket: 'flatfiles', ...input, ContinuationToken: token });
      out.push(page);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  const fields = (ps: ListPage[]) => ({
    keys: ps.flatMap((p) => (p.Contents ?? []).map((c) => [c.Key, c.Size, c.ETag, c.LastModified?.toISOString()])),
    prefixes: ps.flatMap((p) => (p.CommonPrefixes ?? []).map((c) => c.Prefix)),
  });

  it.each([
    { name: 'a month', input: { Prefix: `${STOCKS}/2026/03/` } },
    { name: 'five years, over several pages', input: { Prefix: `${STOCKS}/` } },
    { name: 'the years, as common prefixes', input: { Prefix: `${STOCKS}/`, Delimiter: '/' } },
  ])('lists $name as the SDK does', async ({ input }) => {
    const ours = await pages(createListObjects({ endpoint: w.server.endpoint, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } }), input);
    const theirs = await pages((i) => sdk.send(new ListObjectsV2Command(i)), input);
    expect(fields(ours)).toEqual(fields(theirs));
    if (input.Delimiter === undefined) expect(fields(ours).keys.length).toBeGreaterThan(0);
    if (input.Delimiter === undefined && input.Prefix === `${STOCKS}/`) expect(ours.length).toBeGreaterThan(1);
  });

  // Error answers go through the same reader as GETs' (s3/get.ts), which the fault tests cover.
  it("rejects an unreachable endpoint with Node's error code, as the listing code expects", async () => {
    const nowhere = createListObjects({ endpoint: 'http://127.0.0.1:1', bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } });
    await expect(nowhere({ Bucket: 'flatfiles', Prefix: `${STOCKS}/` })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('createListObjects (retries)', () => {
  /** A server that answers each listing with the next status of `statuses` (200: one object). */
  async function serve(statuses: number[]): Promise<{ endpoint: string; seen: () => number; close: () => Promise<void> }> {
    let seen = 0;
    const server = createServer((_req, res) => {
      const status = statuses[Math.min(seen++, statuses.length - 1)] ?? 200;
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(status === 200 ? '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>' : `<Error><Code>${status === 403 ? 'AccessDenied' : 'InternalError'}</Code></Error>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { endpoint: `http://127.0.0.1:${port}`, seen: () => seen, close: () => new Promise((r) => server.close(() => r())) };
  }
  const list = (endpoint: string) => createListObjects({ endpoint, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } });

  it('retries a 5xx page and returns the page that follows', async () => {
    const s = await serve([503, 500, 200]);
    try {
      expect((await list(s.endpoint)({ Bucket: 'flatfiles', Prefix: '' })).Contents).toEqual([{ Key: 'k', Size: 1 }]);
      expect(s.seen()).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('cuts a page that does not answer within the timeout and asks again', async () => {
    let seen = 0;
    const server = createServer((_req, res) => {
      // The first request stalls (never answered); the second is answered at once.
      if (seen++ === 0) return;
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const stalled = createListObjects({ endpoint: `http://127.0.0.1:${port}`, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } }, { timeoutMs: 200 });
      expect((await stalled({ Bucket: 'flatfiles', Prefix: '' })).Contents).toEqual([{ Key: 'k', Size: 1 }]);
      expect(seen).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('gives up after three attempts, and does not retry a 403', async () => {
    const failing = await serve([500]);
    const denied = await serve([403]);
    try {
      await expect(list(failing.endpoint)({ Bucket: 'flatfiles', Prefix: '' })).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      expect(failing.seen()).toBe(3);
      await expect(list(denied.endpoint)({ Bucket: 'flatfiles', Prefix: '' })).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(denied.seen()).toBe(1);
    } finally {
      await failing.close();
      await denied.close();
    }
  });
});

describe('listDayFiles over createListObjects (real HTTP)', () => {
  it('a truncated page without a continuation token fails the month with ERR_LIST instead of ending it', async () => {
    const prefixes: string[] = [];
    const server = createServer((req, res) => {
      prefixes.push(new URL(req.url ?? '/', 'http://x').searchParams.get('prefix') ?? '');
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        '<ListBucketResult><IsTruncated>true</IsTruncated>' +
          `<Contents><Key>${STOCKS}/2026/03/2026-03-02.csv.gz</Key><Size>1</Size><ETag>"e"</ETag></Contents></ListBucketResult>`,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const client = createListObjects({ endpoint: `http://127.0.0.1:${port}`, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } });
      const listing = listDayFiles(client, { dataset: STOCKS, bucket: 'flatfiles', start: '2026-03-01', end: '2026-03-31' });
      const seen: string[] = [];
      const error = await (async () => {
        for await (const files of listing) seen.push(...files.map((f) => f.day));
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_LIST' });
      expect((error as Error).message).toContain(`Listing ${STOCKS}/2026/03/`);
      expect(seen).toEqual([]);
      expect(prefixes).toEqual([`${STOCKS}/2026/03/`]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
