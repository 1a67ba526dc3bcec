import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadTask, TaskResult } from '../../src/pool/messages.js';
import { DownloadPool, poolLayout } from '../../src/pool/pool.js';
import type { Bar } from '../../src/types.js';
import { dayFilesFor, type GeneratedFile } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { END, STOCKS, startWorld, type World } from '../e2e/helpers.js';

let w: World;
let pool: DownloadPool;
let files: GeneratedFile[];
beforeAll(async () => {
  w = await startWorld();
  pool = new DownloadPool({ threads: 2, perThread: 4 });
  files = dayFilesFor(w.ds, STOCKS, '2026-11-01', END);
});
afterAll(async () => {
  await pool?.close();
  await w?.close();
});

const task = (f: GeneratedFile, extra: Partial<DownloadTask> = {}): DownloadTask => ({
  config: { endpoint: w.server.endpoint, bucket: 'flatfiles', credentials: { ...S3_CREDENTIALS } },
  key: f.key,
  day: f.day,
  size: f.size,
  etag: f.md5,
  tickers: ['TSLA', 'AAPL'],
  retries: 3,
  minRetryDelayMs: 10,
  requestTimeoutMs: 5_000,
  throttleSignal: new SharedArrayBuffer(4),
  streamAboveBytes: 8 * 1024 * 1024,
  ...extra,
});

/** A result's TSLA rows as bars. */
const tsla = (r: TaskResult): Bar[] =>
  r.ok ? r.rows.filter((x) => x.ticker === 'TSLA').map(({ time, open, high, low, close, volume, transactions }) => ({ time, open, high, low, close, volume, transactions })) : [];

const at = (i: number): GeneratedFile => {
  const f = files[i];
  if (!f) throw new Error(`no file ${i}`);
  return f;
};

describe('poolLayout', () => {
  it.each([
    // Unset: about one thread per core, at least 2 and at most 4, never more than the downloads.
    [20, undefined, 2, 2, 10],
    [20, undefined, 1, 2, 10],
    [20, undefined, 3, 3, 7],
    [20, undefined, 8, 4, 5],
    [20, undefined, 64, 4, 5],
    [1, undefined, 8, 1, 1],
    [3, undefined, 8, 3, 1],
    // Set: as asked, whatever the cores, never more than the downloads.
    [20, 4, 2, 4, 5],
    [20, 8, 2, 8, 3],
    [20, 1, 8, 1, 20],
    [3, 8, 2, 3, 1],
  ])('%i in flight with threads=%s on %i cores -> %i x %i', (workers, threads, count, t, per) => {
    expect(poolLayout(workers, threads, count)).toEqual({ threads: t, perThread: per });
  });

  it("counts the machine's cores when not given", () => {
    expect(poolLayout(20)).toEqual(poolLayout(20, undefined, availableParallelism()));
  });
});

describe('DownloadPool (real threads, real server)', () => {
  it('downloads, verifies and extracts several files at once', async () => {
    const results = await Promise.all(files.slice(0, 6).map((f) => pool.run(task(f))));
    for (const [i, r] of results.entries()) {
      const f = at(i);
      expect(r).toMatchObject({ ok: true, key: f.key, bytes: f.size, retries: 0 });
      if (!r.ok) continue;
      expect(tsla(r)).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', f.day, f.day));
    }
  });

  it.each([
    ['a 503 SlowDown', { kind: 'status', status: 503, code: 'SlowDown' }],
    ['a 500', { kind: 'status', status: 500, code: 'InternalError' }],
    ['a reset connection', { kind: 'reset' }],
    ['a body cut halfway', { kind: 'truncate' }],
    ['a stall longer than the request timeout', { kind: 'stall', ms: 3_000 }],
  ] as const)('retries %s and completes', async (_name, fault) => {
    const f = at(6);
    await w.server.setFaults([{ match: f.key.replaceAll('.', '\\.'), times: 2, ...fault }]);
    const r = await pool.run(task(f, { requestTimeoutMs: 1_000 }));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: true, retries: 2, bytes: f.size });
  });

  it.each([
    [403, 'AccessDenied', 'ERR_NOT_ENTITLED'],
    [404, 'NoSuchKey', 'ERR_NOT_FOUND'],
  ] as const)('does not retry a %i', async (status, code, expected) => {
    const f = at(7);
    await w.server.setFaults([{ match: f.key.replaceAll('.', '\\.'), times: -1, kind: 'status', status, code }]);
    await w.server.resetStats();
    const r = await pool.run(task(f));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: false, code: expected, retries: 0 });
    expect((await w.server.stats()).gets[f.key]).toBe(1);
  });

  it('streams a file through (forced for a small one) with the same rows as reading it whole', async () => {
    const f = at(9);
    const whole = await pool.run(task(f));
    const streamed = await pool.run(task(f, { streamAboveBytes: 0 }));
    expect(streamed).toMatchObject({ ok: true, bytes: f.size, retries: 0 });
    expect(streamed.ok && whole.ok && streamed.rows).toEqual(whole.ok && whole.rows);
  });

  it('resumes a streamed body cut halfway with a Range request, and still verifies it', async () => {
    const f = at(10);
    await w.server.setFaults([{ match: f.key.replaceAll('.', '\\.'), times: 1, kind: 'truncate' }]);
    await w.server.resetStats();
    const r = await pool.run(task(f, { streamAboveBytes: 0 }));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: true, bytes: f.size, retries: 1 });
    const stats = await w.server.stats();
    expect(stats.gets[f.key]).toBe(2);
    // Half the body came in before the cut: the second request asks for the rest only.
    expect(stats.ranges[f.key]).toEqual([`bytes=${Math.floor(f.size / 2)}-`]);
    expect(tsla(r)).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', f.day, f.day));
  });

  it('writes a streamed file to the raw mirror only once it is complete and verified', async () => {
    const f = at(12);
    const rawDir = join(w.root, 'raw-stream');
    await w.server.setFaults([{ match: f.key.replaceAll('.', '\\.'), times: 1, kind: 'truncate' }]);
    const r = await pool.run(task(f, { streamAboveBytes: 0, rawDir }));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: true, retries: 1 });
    const kept = readFileSync(join(rawDir, f.key));
    expect(createHash('md5').update(kept).digest('hex')).toBe(f.md5);
    expect(readdirSync(dirname(join(rawDir, f.key))).sort()).toEqual([basename(f.key), `${basename(f.key)}.meta.json`]);
  });

  it.each([
    ['a byte flipped (plain MD5 ETag)', (f: GeneratedFile) => f.md5],
    // Only the length and gzip itself can tell: a copy read whole failed ERR_PARSE instead.
    ['a byte flipped (multipart ETag, no MD5)', (f: GeneratedFile) => `${f.md5}-2`],
  ] as const)('streams a large file from the raw mirror, and downloads it again when the copy has %s', async (_name, etagOf) => {
    const f = at(13);
    const rawDir = join(w.root, `raw-reuse-${etagOf(f).length}`);
    const large = task(f, { streamAboveBytes: 0, rawDir, etag: etagOf(f) });
    const first = await pool.run(large);
    expect(first).toMatchObject({ ok: true, fromMirror: false });

    await w.server.resetStats();
    const reused = await pool.run(large);
    expect(reused).toMatchObject({ ok: true, fromMirror: true, bytes: f.size });
    expect(tsla(reused)).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', f.day, f.day));
    expect((await w.server.stats()).totalGets).toBe(0);

    // Damage the copy in the middle of its deflate stream, keeping its length.
    const path = join(rawDir, f.key);
    const copy = readFileSync(path);
    copy[Math.floor(copy.length / 3)] = (copy[Math.floor(copy.length / 3)] ?? 0) ^ 0xff;
    writeFileSync(path, copy);
    const again = await pool.run(large);
    expect(again).toMatchObject({ ok: true, fromMirror: false, bytes: f.size, retries: 0 });
    expect(tsla(again)).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', f.day, f.day));
    expect((await w.server.stats()).gets[f.key]).toBe(1);
    // The download replaced the damaged copy.
    expect(createHash('md5').update(readFileSync(path)).digest('hex')).toBe(f.md5);
  });

  it('retries a streamed body whose MD5 does not match, then fails it', async () => {
    const r = await pool.run(task(at(11), { etag: '0'.repeat(32), retries: 1, streamAboveBytes: 0 }));
    expect(r).toMatchObject({ ok: false, code: 'ERR_INTEGRITY', retries: 1 });
  });

  it('fails a body whose MD5 does not match the listed ETag after retrying', async () => {
    const r = await pool.run(task(at(8), { etag: '0'.repeat(32), retries: 1 }));
    expect(r).toMatchObject({ ok: false, code: 'ERR_INTEGRITY', retries: 1 });
    expect(r.ok ? '' : r.message).toContain('does not match the listed ETag');
  });

  // Closing used to terminate threads mid-download: a result already posted then reached a pool
  // that no longer knew its task (an unheard 'error' event, an uncaught exception), and a thread
  // cut while setting up an inflate aborted the whole process. Both windows are narrow, so close
  // many pools just as their downloads complete.
  it('closes mid-run: downloads stop and settle, with no uncaught error and no crash', async () => {
    const many = dayFilesFor(w.ds, STOCKS, '2025-01-01', END).slice(0, 40);
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      for (let round = 0; round < 30; round++) {
        const p = new DownloadPool({ threads: 2, perThread: 10 });
        const runs = many.map((f) => p.run(task(f, { retries: 0 })).then((r) => (r.ok ? 'done' : r.code)));
        await Promise.race(runs);
        await p.close();
        const outcomes = new Set(await Promise.all(runs));
        // The stopped downloads settle as ERR_ABORTED instead of being cut off with their thread.
        expect(outcomes).toContain('ERR_ABORTED');
        expect([...outcomes].filter((o) => o !== 'done' && o !== 'ERR_ABORTED')).toEqual([]);
      }
      // Give a late message one more turn of the event loop to surface.
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    // 30 pools whose threads load the TypeScript sources through tsx: ~15 s on a quiet 2-core
    // machine, over 40 s while other test files load it.
  }, 180_000);
});
