// The listing as a library user meets it, in-process: it fails and stops cleanly, without
// printing warnings into the host app or leaving a rejection nobody handles.
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchSymbol, NotEntitledError, preload, PreloadAbortedError, type PreloadError } from '../../src/index.js';
import { createListObjects } from '../../src/s3/list-objects.js';
import { listDayFiles } from '../../src/s3/list.js';
import { CSV_HEADER, dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { END, putObject, STOCKS, startWorld, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

// Everything the process reports in the background while a test runs: Node's warnings
// (MaxListenersExceededWarning, ...) and rejections nobody handled (which end a Node 20 app).
let warnings: Error[];
let unhandled: unknown[];
const onWarning = (warning: Error): void => void warnings.push(warning);
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  warnings = [];
  unhandled = [];
  process.on('warning', onWarning);
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('warning', onWarning);
  process.off('unhandledRejection', onUnhandled);
});

/** Lets warnings (emitted on the next tick) and unhandled rejections (after the microtasks) surface. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

const now = new Date('2026-11-23T18:00:00Z');
const opts = (cacheDir: string) => ({ cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now, adjust: 'none' as const });

describe('listing without warnings', () => {
  it('fetchSymbol for 5y against a closed port rejects with ERR_UNREACHABLE and prints nothing', async () => {
    const dead = { ...opts(w.cacheDir('dead')), endpoint: 'http://127.0.0.1:9', period: '5y' as const };
    const error = await fetchSymbol('TSLA', dead).catch((e: unknown) => e);
    expect((error as PreloadError).code).toBe('ERR_UNREACHABLE');
    await settle();
    expect(warnings).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('an aborted 5y run rejects with PreloadAbortedError and prints nothing', async () => {
    const controller = new AbortController();
    await w.server.setLatency(20);
    const error = await preload('TSLA', {
      ...opts(w.cacheDir('aborted')),
      period: '5y',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'progress' && e.listed > 0) controller.abort();
      },
    }).catch((e: unknown) => e);
    await w.server.setLatency(0);
    expect(error).toBeInstanceOf(PreloadAbortedError);
    expect((error as PreloadAbortedError).report.files.listed).toBeGreaterThan(0);
    await settle();
    expect(warnings).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('one caller signal shared by a dozen concurrent fetchSymbol calls collects no listener warning', async () => {
    const controller = new AbortController();
    const calls = Array.from({ length: 12 }, (_, i) =>
      fetchSymbol('TSLA', { ...opts(w.cacheDir(`shared-signal-${i}`)), start: '2026-11-01', signal: controller.signal }),
    );
    const results = await Promise.all(calls);
    for (const bars of results) expect(bars.length).toBeGreaterThan(0);
    await settle();
    expect(warnings).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('lists many months at once on one signal without a listener warning', async () => {
    const client = createListObjects({ endpoint: w.server.endpoint, bucket: w.ds.bucket, credentials: { ...S3_CREDENTIALS } });
    const listing = listDayFiles(client, {
      dataset: STOCKS,
      bucket: w.ds.bucket,
      start: '2022-01-01',
      end: END,
      concurrency: 24,
      signal: new AbortController().signal,
    });
    let files = 0;
    for await (const month of listing) files += month.length;
    expect(files).toBeGreaterThan(700);
    await settle();
    expect(warnings).toEqual([]);
  });
});

// Faults injected into the listing itself (the test server's `listing` rules): the run stops in
// the middle of a 5y listing, with months still being listed.
describe('a run stopped in the middle of its listing', () => {
  afterEach(async () => {
    await w.server.setFaults([]);
  });

  it('a 403 on one month rejects with NotEntitledError; no other listing outlives the run', async () => {
    await w.server.setFaults([{ listing: true, match: '/2023/06/$', times: -1, kind: 'status', status: 403, code: 'AccessDenied' }]);
    await w.server.resetStats();
    const error = await preload('TSLA', { ...opts(w.cacheDir('listing-403')), period: '5y' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotEntitledError);
    const lists = (await w.server.stats()).lists;
    await settle();
    expect(warnings).toEqual([]);
    expect(unhandled).toEqual([]);
    expect((await w.server.stats()).lists).toBe(lists);
  });

  it('an abort while a month stalls ends the run at once, without waiting for that month', async () => {
    // A stall far longer than the test's timeout: the run can only end if the abort reaches it.
    await w.server.setFaults([{ listing: true, match: '/2023/06/$', times: -1, kind: 'stall', ms: 120_000 }]);
    const controller = new AbortController();
    // More files listed than the window has before June 2023: a later month was listed, so the
    // stalled one had been started; abort with it (and others) still pending.
    const before = dayFilesFor(w.ds, STOCKS, '2021-11-20', '2023-05-31').length;
    const error = await preload('TSLA', {
      ...opts(w.cacheDir('listing-abort')),
      period: '5y',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'progress' && e.listed > before) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreloadAbortedError);
    await settle();
    expect(warnings).toEqual([]);
    expect(unhandled).toEqual([]);
  });
});

describe('the tail of a window', () => {
  it('a file that comes late is fetched by the next call, never skipped because the clock said it was out', async () => {
    // The generated files end on Friday END (2026-11-20). On Tuesday evening Monday's file should
    // be out by the clock, and is not: the provider is late.
    const monday = '2026-11-23';
    const tuesday = new Date('2026-11-24T20:00:00Z');
    const cacheDir = w.cacheDir('late-file');
    const window = { ...opts(cacheDir), start: '2026-11-16', end: monday, now: tuesday };
    const first = await fetchSymbol('TSLA', window);
    expect(first.map((b) => new Date(b.time).toISOString().slice(0, 10)).at(-1)).toBe(END);

    const key = `${STOCKS}/2026/11/${monday}.csv.gz`;
    const time = BigInt(Date.parse(`${monday}T05:00:00Z`)) * 1_000_000n;
    const restore = putObject(w, key, gzipSync(`${CSV_HEADER}\nTSLA,1000,250,251,252,249,${time},10\n`));
    try {
      await w.server.resetStats();
      const second = await fetchSymbol('TSLA', window);
      expect((await w.server.stats()).gets[key]).toBe(1);
      expect(second.at(-1)).toEqual({ time: Number(time / 1_000_000n), open: 250, high: 252, low: 249, close: 251, volume: 1000, transactions: 10 });
      // Now listed and ingested: the window is complete, and a third call needs no network.
      const third = await fetchSymbol('TSLA', { ...window, endpoint: 'http://127.0.0.1:9' });
      expect(third).toEqual(second);
    } finally {
      restore();
    }
  });
});
