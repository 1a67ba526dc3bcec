// A refusal is read from the S3 <Code> of its answer, for a listing and a GET alike: a clock the
// server says is off is corrected (for every later request of the process) and retried; a refused
// key pair and an expired token say so; AccessDenied, or a 403 with no code we know, is "not
// entitled". Against the real s3rver (its own RequestTimeTooSkewed and InvalidAccessKeyId, the
// rest injected by the test server's fault middleware), judged by the server's log.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, NotEntitledError } from '../../src/errors.js';
import type { DownloadTask } from '../../src/pool/messages.js';
import { DownloadPool } from '../../src/pool/pool.js';
import type { S3Config } from '../../src/s3/client.js';
import { clockOffset, setClockOffset } from '../../src/s3/clock.js';
import { createListObjects } from '../../src/s3/list-objects.js';
import { listDayFiles } from '../../src/s3/list.js';
import { downloadTask } from '../fixtures/download-task.js';
import { dayFilesFor, type GeneratedFile } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { END, escapeRegExp, STOCKS, startWorld, type World } from '../e2e/helpers.js';

let w: World;
let pool: DownloadPool;
let files: GeneratedFile[];
beforeAll(async () => {
  w = await startWorld();
  pool = new DownloadPool({ threads: 2, perThread: 2 });
  files = dayFilesFor(w.ds, STOCKS, '2026-10-01', END);
});
afterAll(async () => {
  await pool?.close();
  await w?.close();
});
afterEach(async () => {
  setClockOffset(0);
  await w.server.setFaults([]);
});

const config = (credentials: { accessKeyId: string; secretAccessKey: string } = { ...S3_CREDENTIALS }): S3Config => ({
  endpoint: w.server.endpoint,
  bucket: 'flatfiles',
  credentials,
});

/** The days of one month, listed as the run lists them. */
async function listMonth(month: string, c = config()): Promise<string[]> {
  const days: string[] = [];
  const [start, end] = [`${month}-01`, `${month}-31`];
  for await (const batch of listDayFiles(createListObjects(c), { dataset: STOCKS, bucket: 'flatfiles', start, end })) days.push(...batch.map((f) => f.day));
  return days;
}

const at = (i: number): GeneratedFile => {
  const f = files[i];
  if (!f) throw new Error(`no file ${i}`);
  return f;
};

const task = (f: GeneratedFile, c = config()): DownloadTask => downloadTask(c.endpoint, f, { config: c });

const TWENTY_MINUTES = 20 * 60_000;

describe('RequestTimeTooSkewed: the clock is corrected from the server time, for every later request', () => {
  it('listing: one refused page, asked again, and the next months are signed right', async () => {
    const days = dayFilesFor(w.ds, STOCKS, '2026-03-01', '2026-03-31').map((f) => f.day);
    setClockOffset(-TWENTY_MINUTES); // this machine's clock plays 20 minutes slow
    await w.server.resetStats();
    expect(await listMonth('2026-03')).toEqual(days);
    let stats = await w.server.stats();
    expect(stats.errors).toEqual({ RequestTimeTooSkewed: 1 });
    expect(stats.lists).toBe(2);
    expect(Math.abs(clockOffset())).toBeLessThan(5_000);
    expect((await listMonth('2026-04')).length).toBeGreaterThan(0);
    expect((await listMonth('2026-05')).length).toBeGreaterThan(0);
    stats = await w.server.stats();
    expect(stats.errors).toEqual({ RequestTimeTooSkewed: 1 });
    expect(stats.lists).toBe(4);
  });

  it('GET: a download thread corrects the clock for the whole process; the later downloads are not refused', async () => {
    setClockOffset(TWENTY_MINUTES); // 20 minutes fast
    await w.server.resetStats();
    const first = at(0);
    expect(await pool.run(task(first))).toMatchObject({ ok: true, retries: 1, bytes: first.size });
    let stats = await w.server.stats();
    expect(stats.errors).toEqual({ RequestTimeTooSkewed: 1 });
    expect(stats.gets[first.key]).toBe(2);
    // The thread's correction is the main thread's offset too (one cell of shared memory).
    expect(Math.abs(clockOffset())).toBeLessThan(5_000);
    const later = [at(1), at(2), at(3), at(4), at(5), at(6)];
    const results = await Promise.all(later.map((f) => pool.run(task(f))));
    expect(results.map((r) => [r.ok, r.retries])).toEqual(later.map(() => [true, 0]));
    expect(await listMonth('2026-06')).not.toEqual([]);
    stats = await w.server.stats();
    expect(stats.errors).toEqual({ RequestTimeTooSkewed: 1 });
    expect(stats.totalGets).toBe(2 + later.length);
  });

  it('an answer with no time to correct by is final, with one line saying to check the clock (listing and GET)', async () => {
    let seen = 0;
    const stub = createServer((_req, res) => {
      seen += 1;
      res.sendDate = false;
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>');
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const c = { ...config(), endpoint: `http://127.0.0.1:${(stub.address() as AddressInfo).port}` };
    try {
      const error = await listMonth('2026-03', c).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(
        "The S3 endpoint says this machine's clock is off by more than 15 minutes (RequestTimeTooSkewed), and its answer gave no time to correct it by: check the system clock",
      );
      const f = at(7);
      const r = await pool.run(task(f, c));
      expect(r).toMatchObject({ ok: false, code: 'ERR_DOWNLOAD', retries: 0 });
      expect(r.ok ? '' : r.message).toContain('(RequestTimeTooSkewed), and its answer gave no time to correct it by');
      expect(seen).toBe(2);
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });
});

describe('refusals that retrying cannot cure: one request, one line', () => {
  const keyPair = (code: string): string =>
    `the S3 key pair was refused (${code}): the endpoint rejected the credentials; check MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY (the flat-files key pair, not the REST API key)`;
  const expired = 'the session token of the temporary S3 credentials has expired (ExpiredToken)';

  it.each<{ name: string; status?: number; code?: string; credentials?: { accessKeyId: string; secretAccessKey: string }; listing: RegExp | typeof NotEntitledError; get: [string, string] }>([
    // s3rver's own answer for a key id it does not know.
    { name: 'InvalidAccessKeyId', credentials: { accessKeyId: 'AKIDNOTKNOWN', secretAccessKey: 'x' }, listing: /^The S3 key pair was refused \(InvalidAccessKeyId\): the endpoint rejected the credentials/, get: ['ERR_CREDENTIALS', keyPair('InvalidAccessKeyId')] },
    { name: 'SignatureDoesNotMatch', status: 403, code: 'SignatureDoesNotMatch', listing: /^The S3 key pair was refused \(SignatureDoesNotMatch\)/, get: ['ERR_CREDENTIALS', keyPair('SignatureDoesNotMatch')] },
    // S3 answers it with a 400; explicit credentials have nothing to refresh.
    { name: 'ExpiredToken', status: 400, code: 'ExpiredToken', listing: /^The session token of the temporary S3 credentials has expired \(ExpiredToken\)/, get: ['ERR_CREDENTIALS', expired] },
    { name: 'AccessDenied', status: 403, code: 'AccessDenied', listing: NotEntitledError, get: ['ERR_NOT_ENTITLED', 'access denied (403 AccessDenied)'] },
    { name: 'a 403 with a code we do not know', status: 403, code: 'SomethingNew', listing: NotEntitledError, get: ['ERR_NOT_ENTITLED', 'access denied (403 SomethingNew)'] },
  ])('$name', async ({ status, code, credentials, listing, get }) => {
    const f = at(8);
    const faults = status === undefined ? [] : [{ kind: 'status' as const, status, ...(code === undefined ? {} : { code }) }];
    await w.server.setFaults(faults.flatMap((fault) => [
      { ...fault, listing: true, match: '/2026/07/$', times: -1 },
      { ...fault, match: escapeRegExp(f.key), times: -1 },
    ]));
    await w.server.resetStats();
    const c = config(credentials);

    const error = await listMonth('2026-07', c).catch((e: unknown) => e);
    if (listing instanceof RegExp) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(listing);
    } else {
      expect(error).toBeInstanceOf(listing);
      expect((error as Error).message).toContain(`not entitled to ${STOCKS}?`);
    }
    const r = await pool.run(task(f, c));
    expect(r).toMatchObject({ ok: false, code: get[0], retries: 0 });
    expect(r.ok ? '' : r.message).toContain(`${f.key}: ${get[1]}`);
    const stats = await w.server.stats();
    expect(stats.lists).toBe(1);
    expect(stats.gets[f.key]).toBe(1);
    expect(Object.keys(stats.errors)).toEqual([code ?? 'InvalidAccessKeyId']);
  });
});
