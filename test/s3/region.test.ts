// `region` for S3-compatible endpoints other than Massive's, and a bucket that lives elsewhere:
// a 301 PermanentRedirect says in one line where to go, and is never retried. A small node:http
// server stands in for S3, for precise answers (status, XML body, x-amz-bucket-region).
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidOptionError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options.js';
import type { DownloadTask } from '../../src/pool/messages.js';
import { DownloadPool } from '../../src/pool/pool.js';
import type { S3Config } from '../../src/s3/client.js';
import { createListObjects } from '../../src/s3/list-objects.js';
import { listDayFiles } from '../../src/s3/list.js';
import { downloadTask } from '../fixtures/download-task.js';
import { CSV_HEADER } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
const KEY = `${DATASET}/2026/03/2026-03-02.csv.gz`;
const BODY = gzipSync(`${CSV_HEADER}\nTSLA,100,1,2,3,0.5,${BigInt(Date.parse('2026-03-02T05:00:00Z')) * 1_000_000n},7\n`);
const MD5 = createHash('md5').update(BODY).digest('hex');

interface Answer {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: string;
}

/** What the stub answers next (until changed), and every request it saw. */
let answer: (path: string) => Answer;
let seen: Array<{ path: string; headers: IncomingHttpHeaders }>;
const ok = (path: string): Answer =>
  path.includes('list-type=2')
    ? {
        status: 200,
        body: `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>${KEY}</Key><Size>${BODY.length}</Size><ETag>"${MD5}"</ETag></Contents></ListBucketResult>`,
      }
    : { status: 200 };

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  seen.push({ path, headers: req.headers });
  const a = answer(path);
  const isObject = a.status === 200 && !path.includes('list-type=2');
  res.writeHead(a.status, { 'content-type': isObject ? 'application/octet-stream' : 'application/xml', ...a.headers });
  res.end(isObject ? BODY : a.body);
});
let endpoint: string;
let pool: DownloadPool;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = new DownloadPool({ threads: 1, perThread: 2 });
});
afterAll(async () => {
  await pool?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  answer = ok;
  seen = [];
});

const config = (region?: string): S3Config => ({ endpoint, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS }, ...(region === undefined ? {} : { region }) });
const scopes = (): string[] => seen.map((r) => /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(String(r.headers.authorization))?.[1] ?? '?');

async function listMarch(c: S3Config): Promise<string[]> {
  const days: string[] = [];
  for await (const files of listDayFiles(createListObjects(c), { dataset: DATASET, bucket: 'flatfiles', start: '2026-03-01', end: '2026-03-31' })) {
    days.push(...files.map((f) => f.day));
  }
  return days;
}

const task = (c: S3Config): DownloadTask => downloadTask(c.endpoint, { key: KEY, day: '2026-03-02', size: BODY.length, md5: MD5 }, { config: c });

describe('region', () => {
  it('signs the listing and the GETs for the region given, us-east-1 when none is', async () => {
    expect(await listMarch(config('eu-central-1'))).toEqual(['2026-03-02']);
    expect(await pool.run(task(config('eu-central-1')))).toMatchObject({ ok: true, bytes: BODY.length });
    expect(await listMarch(config())).toEqual(['2026-03-02']);
    expect(await pool.run(task(config()))).toMatchObject({ ok: true });
    expect(scopes()).toEqual(['eu-central-1', 'eu-central-1', 'us-east-1', 'us-east-1']);
  });

  it('is validated at the door, naming the option and the bad value; MASSIVE_S3_REGION is read', () => {
    for (const bad of ['EU_WEST', 'eu west 1', 'us-east-1/x', '', '-eu']) {
      const error = (() => {
        try {
          return resolveOptions({ region: bad }, {});
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option: 'region', message: `Expected \`region\` to be a region name like us-east-1 (lower-case letters, digits and hyphens), got \`${bad}\` (string)` });
    }
    expect(() => resolveOptions({}, { MASSIVE_S3_REGION: 'Nope!' })).toThrow(/`region` .* got `Nope!`/);
    expect(resolveOptions({}, {}).region).toBe('us-east-1');
    expect(resolveOptions({}, { MASSIVE_S3_REGION: 'auto' }).region).toBe('auto');
    expect(resolveOptions({ region: 'eu-central-1' }, { MASSIVE_S3_REGION: 'auto' }).region).toBe('eu-central-1');
  });
});

describe('a bucket that lives elsewhere', () => {
  const redirect: Answer = {
    status: 301,
    headers: { 'x-amz-bucket-region': 'eu-west-1' },
    body:
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message>' +
      '<Endpoint>flatfiles.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>flatfiles</Bucket></Error>',
  };
  const line = 'The S3 endpoint says bucket flatfiles is elsewhere (301 PermanentRedirect): use region eu-west-1 (--region eu-west-1) and endpoint s3.eu-west-1.amazonaws.com (--endpoint https://s3.eu-west-1.amazonaws.com)';

  it('a 301 PermanentRedirect on the listing stops it with one line naming the region and endpoint, not retried', async () => {
    answer = () => redirect;
    const error = await listMarch(config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(line);
    expect(seen).toHaveLength(1);
  });

  it('a 301 PermanentRedirect on a GET fails the file at once with the same line', async () => {
    answer = (path) => (path.includes('list-type=2') ? ok(path) : redirect);
    const r = await pool.run(task(config()));
    expect(r).toMatchObject({ ok: false, code: 'ERR_DOWNLOAD', retries: 0, message: `${KEY}: ${line}` });
    expect(seen).toHaveLength(1);
  });

  it.each<[string, Answer, string]>([
    ['only the x-amz-bucket-region header', { status: 301, headers: { 'x-amz-bucket-region': 'ap-south-1' } }, '(301 Http301): use region ap-south-1 (--region ap-south-1)'],
    ['nothing about where', { status: 301, body: '<Error><Code>PermanentRedirect</Code></Error>' }, '(301 PermanentRedirect) without saying where: check --endpoint and --region'],
    [
      'a signature for the wrong region',
      { status: 400, body: "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-north-1'</Message><Region>eu-north-1</Region></Error>" },
      '(400 AuthorizationHeaderMalformed): use region eu-north-1 (--region eu-north-1)',
    ],
  ])('says what it can from %s, listing and GET, in one request each', async (_name, a, text) => {
    answer = () => a;
    const error = await listMarch(config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(text);
    const r = await pool.run(task(config()));
    expect(r).toMatchObject({ ok: false, retries: 0 });
    expect(r.ok ? '' : r.message).toContain(text);
    expect(seen).toHaveLength(2);
  });
});
