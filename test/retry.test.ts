// The one retry helper (src/retry.ts), on real timers with small delays, and the Retry-After of a
// real server on loopback waited instead of the backoff (not on top of it): REST API, S3 listing,
// S3 download.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCorporateActions } from '../src/actions/client.js';
import { resolveOptions } from '../src/options.js';
import { DownloadPool } from '../src/pool/pool.js';
import { backoffDelay, FinalError, parseRetryAfter, retry } from '../src/retry.js';
import { createListObjects } from '../src/s3/list-objects.js';
import { ACTION_TICKERS, corporateActionsFixture } from './fixtures/actions.js';
import { downloadTask } from './fixtures/download-task.js';
import { dayFilesFor } from './fixtures/generate.js';
import { startRestServer } from './fixtures/rest-server.js';
import { S3_CREDENTIALS } from './fixtures/s3-server.js';
import { END, escapeRegExp, STOCKS, startWorld, type World } from './e2e/helpers.js';

/** Rejects with what `p` rejected with; fails the test when it fulfils. */
const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );

describe('backoffDelay', () => {
  it('doubles from the base, jittered from 1x to 2x, up to the cap', () => {
    for (let i = 0; i < 200; i++) {
      for (const [retry, low, high] of [[0, 100, 200], [1, 200, 400], [2, 400, 800], [3, 800, 1000], [4, 1000, 1000], [40, 1000, 1000]] as const) {
        const d = backoffDelay(retry, 100, 1000);
        expect(d).toBeGreaterThanOrEqual(low);
        expect(d).toBeLessThanOrEqual(high);
      }
    }
    expect(backoffDelay(5, 0, 1000)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it.each<[string | null | undefined, number | undefined]>([
    ['3', 3000],
    [' 0 ', 0],
    ['Tue, 01 Dec 2026 12:00:05 GMT', 5000],
    ['Tue, 01 Dec 2026 11:00:00 GMT', 0],
    ['-1', undefined],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%s', (header, want) => {
    expect(parseRetryAfter(header, now)).toBe(want);
  });
});

describe('retry', () => {
  it('tries retries + 1 times in all, then rejects with the last error', async () => {
    let n = 0;
    const e = await rejection(retry(async () => Promise.reject(new Error(`failure ${++n}`)), { retries: 3, baseMs: 1, capMs: 5 }));
    expect(n).toBe(4);
    expect((e as Error).message).toBe('failure 4');
  });

  it('returns the first success', async () => {
    let n = 0;
    expect(await retry(async () => (++n < 3 ? Promise.reject(new Error('again')) : n), { retries: 5, baseMs: 1, capMs: 5 })).toBe(3);
  });

  it('stops at once on a FinalError or when shouldRetry says no', async () => {
    let n = 0;
    const final = await rejection(
      retry(
        async () => {
          n++;
          throw new FinalError(new Error('not found'));
        },
        { retries: 5, baseMs: 1, capMs: 5 },
      ),
    );
    expect((final as Error).message).toBe('not found');
    expect(n).toBe(1);
    n = 0;
    const seen: number[] = [];
    await rejection(
      retry(async () => Promise.reject(new Error(String(++n))), {
        retries: 5,
        baseMs: 1,
        capMs: 5,
        shouldRetry: ({ attempt }) => (seen.push(attempt), attempt < 2),
      }),
    );
    expect(n).toBe(2);
    expect(seen).toEqual([1, 2]);
  });

  it('waits the backoff between attempts', async () => {
    const times: number[] = [];
    await rejection(retry(async () => (times.push(performance.now()), Promise.reject(new Error('x'))), { retries: 2, baseMs: 100, capMs: 1000 }));
    // 100-200 ms, then 200-400 ms.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(95);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(195);
  });

  it('waits a Retry-After instead of the backoff, not on top of it, capped', async () => {
    const times: number[] = [];
    await rejection(
      retry(async () => (times.push(performance.now()), Promise.reject(new Error('slow down'))), {
        retries: 2,
        baseMs: 2000,
        capMs: 4000,
        maxRetryAfterMs: 150,
        retryAfterMs: () => (times.length === 1 ? 100 : 10_000),
      }),
    );
    // The backoff alone would be 2-4 s: 100 ms asked, then 10 s asked and 150 ms allowed.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(95);
    expect(times[1]! - times[0]!).toBeLessThan(600);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(145);
    expect(times[2]! - times[1]!).toBeLessThan(700);
  });

  it('bounds the retries by the time since the first failure, and says so through timedOut', async () => {
    let n = 0;
    const t0 = performance.now();
    const e = await rejection(
      retry(async () => Promise.reject(new Error(String(++n))), {
        retries: Infinity,
        baseMs: 20,
        capMs: 40,
        maxElapsedMs: 300,
        timedOut: ({ error }) => new Error(`away: ${(error as Error).message}`),
      }),
    );
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(295);
    expect(took).toBeLessThan(5000); // a bound, not a speed: loaded CI machines stretch timers
    expect(n).toBeGreaterThan(3);
    expect((e as Error).message).toBe(`away: ${n}`);
  });

  it('an abort ends the wait: the call rejects with the last error at once', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    let n = 0;
    const e = await rejection(retry(async () => Promise.reject(new Error(String(++n))), { retries: 3, baseMs: 10_000, capMs: 10_000, signal: controller.signal }));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(n).toBe(1);
    expect((e as Error).message).toBe('1');
  });
});

describe('Retry-After from a server on loopback', () => {
  it('the REST API: a 429 waits the seconds asked, not those plus a backoff', async () => {
    const s = await startRestServer({ apiKey: 'key', fixtures: corporateActionsFixture() });
    try {
      s.fault({ status: 429, headers: { 'retry-after': '1' } });
      // A backoff of 4-8 s would show if it were stacked on the server's second.
      const got = await fetchCorporateActions({ ...resolveOptions({ apiEndpoint: s.url, retryDelayMs: 4000 }, {}), apiKey: 'key', tickers: [...ACTION_TICKERS] });
      expect(got.get('TSLA')?.splits.length).toBeGreaterThan(0);
      const [a, b] = s.requests;
      const gap = (b?.at ?? 0) - (a?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(950);
      expect(gap).toBeLessThan(1900);
    } finally {
      await s.close();
    }
  });

  it('an S3 listing: a 503 SlowDown with Retry-After (an HTTP date) is waited', async () => {
    const times: number[] = [];
    const server = createServer((_req, res) => {
      times.push(performance.now());
      if (times.length === 1) {
        // Whole seconds: 2 s ahead is 1-2 s away; the listing's own backoff is 100-200 ms.
        res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': new Date(Date.now() + 2000).toUTCString() });
        res.end('<Error><Code>SlowDown</Code></Error>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const list = createListObjects({ endpoint: `http://127.0.0.1:${port}`, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } });
      expect((await list({ Bucket: 'flatfiles', Prefix: '' })).Contents).toEqual([{ Key: 'k', Size: 1 }]);
      expect(times).toHaveLength(2);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
      expect(times[1]! - times[0]!).toBeLessThan(2100);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  describe('an S3 download (real s3rver, real thread)', () => {
    let w: World;
    let pool: DownloadPool;
    beforeAll(async () => {
      w = await startWorld();
      pool = new DownloadPool({ threads: 1, perThread: 1 });
    });
    afterAll(async () => {
      await pool?.close();
      await w?.close();
    });

    it('a SlowDown with Retry-After: 1 waits one second, not that plus the backoff', async () => {
      const f = dayFilesFor(w.ds, STOCKS, '2026-11-02', END)[0];
      if (!f) throw new Error('no file');
      await w.server.setFaults([{ match: escapeRegExp(f.key), times: 1, kind: 'status', status: 503, code: 'SlowDown', retryAfter: 1 }]);
      await w.server.resetStats();
      // A backoff of 4-8 s would show if it were stacked on the server's second.
      const task = downloadTask(w.server.endpoint, f, { retries: 2, minRetryDelayMs: 4000 });
      const r = await pool.run(task);
      await w.server.setFaults([]);
      expect(r).toMatchObject({ ok: true, retries: 1, throttled: 1 });
      const stats = await w.server.stats();
      expect(stats.gets[f.key]).toBe(2);
      const [a, b] = stats.requestTimes.slice(-2);
      const gap = (b ?? 0) - (a ?? 0);
      expect(gap).toBeGreaterThanOrEqual(950);
      expect(gap).toBeLessThan(1900);
    });
  });
});
