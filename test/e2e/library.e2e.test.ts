import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearProgress, fetchSymbol, getProgress, listProgress, preload, PreloadAbortedError, readBars, type PreloadEvent } from '../../src/index.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { doneKeys, END, ingestedDays, STOCKS, startWorld, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

// 'now' is pinned after END so the whole window counts as published.
const now = new Date('2026-11-23T18:00:00Z');
// The bars as the files hold them: compared with the generator's own (adjusted reads: adjust.e2e.test.ts).
const opts = (cacheDir: string) => ({ cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now, adjust: 'none' as const });

describe('fetchSymbol', () => {
  it('downloads a missing window, then serves it from the cache with no network at all', async () => {
    const cacheDir = w.cacheDir('fetch');
    const source = readSourceBars(w.ds, STOCKS, 'TSLA', '2025-11-21', END);
    const bars = await fetchSymbol('TSLA', { ...opts(cacheDir), period: '1y' });
    expect(bars).toEqual(source);

    // A dead endpoint proves the second call never leaves the machine's cache.
    const dead = { ...opts(cacheDir), endpoint: 'http://127.0.0.1:9' };
    expect(await fetchSymbol('tsla', { ...dead, period: '1y' })).toEqual(source);
    expect(await fetchSymbol('TSLA', { ...dead, start: '2026-01-01', end: '2026-06-30' })).toEqual(
      readSourceBars(w.ds, STOCKS, 'TSLA', '2026-01-01', '2026-06-30'),
    );
    expect(await readBars('TSLA', { cacheDir, adjust: 'none', start: '2026-11-01', end: END })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', '2026-11-01', END));
  });

  it('fetches only the days it lacks when the window grows', async () => {
    const cacheDir = w.cacheDir('grow');
    await fetchSymbol('AAPL', { ...opts(cacheDir), start: '2026-10-01' });
    await w.server.resetStats();
    const bars = await fetchSymbol('AAPL', { ...opts(cacheDir), start: '2026-09-01' });
    expect(bars).toEqual(readSourceBars(w.ds, STOCKS, 'AAPL', '2026-09-01', END));
    expect((await w.server.stats()).totalGets).toBe(dayFilesFor(w.ds, STOCKS, '2026-09-01', '2026-09-30').length);
  });
});

describe('preload', () => {
  it('emits a plan, progress snapshots and returns the report', async () => {
    const events: PreloadEvent[] = [];
    const report = await preload(['MSFT'], { ...opts(w.cacheDir('events')), start: '2026-10-01', onProgress: (e) => events.push(e) });
    const files = dayFilesFor(w.ds, STOCKS, '2026-10-01', END);
    expect(events[0]).toMatchObject({ type: 'plan', jobs: [{ dataset: STOCKS, start: '2026-10-01', end: END, defaultPeriod: false }] });
    const last = events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ listed: files.length, listingDone: true, downloaded: files.length, failed: 0 });
    expect(report).toMatchObject({
      symbols: ['MSFT'],
      dataset: STOCKS,
      start: '2026-10-01',
      end: END,
      files: { listed: files.length, downloaded: files.length, skipped: 0, failed: 0 },
      bytes: files.reduce((n, f) => n + f.size, 0),
      failures: [],
    });
  });

  it('stops on abort (the server sees no GET once it settles, far fewer than the files), keeps only complete keys, and the rerun fetches only the rest', async () => {
    const cacheDir = w.cacheDir('abort');
    const files = dayFilesFor(w.ds, STOCKS, '2025-01-01', END);
    const workers = 4;
    const controller = new AbortController();
    await w.server.setLatency(20);
    await w.server.resetStats();
    const run = preload('TSLA', {
      ...opts(cacheDir),
      start: '2025-01-01',
      workers,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'progress' && e.downloaded >= 100) controller.abort();
      },
    });
    const error = await run.catch((e: unknown) => e);
    const settled = await w.server.stats();
    // Anything still running after the run settled would be seen by the server meanwhile.
    await new Promise((r) => setTimeout(r, 500));
    const later = await w.server.stats();
    await w.server.setLatency(0);
    expect(error).toBeInstanceOf(PreloadAbortedError);
    const partial = (error as PreloadAbortedError).report;
    expect(later.totalGets).toBe(settled.totalGets);
    // It stopped: beyond the files it recorded, only the downloads in flight when it was aborted
    // had been asked for, each once.
    expect(settled.totalGets).toBeLessThan(files.length);
    expect(settled.totalGets).toBeLessThanOrEqual(partial.files.downloaded + workers);
    for (const count of Object.values(settled.gets)) expect(count).toBe(1);

    // Every key recorded done has its day ingested: none without its bars.
    const done = doneKeys(cacheDir);
    expect(done.length).toBe(partial.files.downloaded);
    for (const key of done) expect(settled.gets[key]).toBe(1);
    const days = new Set(ingestedDays(cacheDir, 'TSLA').map((d) => d.day));
    for (const key of done) expect(days.has(key.slice(-17, -7))).toBe(true);

    await w.server.resetStats();
    const rest = await preload('TSLA', { ...opts(cacheDir), start: '2025-01-01' });
    expect(rest.files).toEqual({ listed: files.length, downloaded: files.length - done.length, skipped: done.length, failed: 0 });
    // The server's log of the rerun: the rest, each once, and nothing the aborted run recorded.
    const rerun = await w.server.stats();
    expect(rerun.totalGets).toBe(files.length - done.length);
    for (const key of done) expect(rerun.gets[key]).toBeUndefined();
    expect(await readBars('TSLA', { cacheDir, adjust: 'none', start: '2025-01-01', end: END })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', '2025-01-01', END));
  });
});

describe('raw mirror (keepRaw, offline)', () => {
  it('a torn meta file is a day the mirror lacks offline, not a crash; the next online run over it rewrites it from the verified body', async () => {
    const cacheDir = w.cacheDir('torn-meta');
    const start = '2026-11-01';
    const files = dayFilesFor(w.ds, STOCKS, start, END);
    const torn = files[3];
    if (!torn) throw new Error('no files');
    await preload('TSLA', { ...opts(cacheDir), start, keepRaw: true });
    // What a crash in the middle of writing it in place left.
    writeFileSync(join(cacheDir, 'raw', `${torn.key}.meta.json`), '{"size":2395');

    const dead = { ...opts(cacheDir), endpoint: 'http://127.0.0.1:9', start, offline: true };
    const offline = await preload('MSFT', dead);
    expect(offline.files).toEqual({ listed: files.length - 1, downloaded: files.length - 1, skipped: 0, failed: 0 });
    // Said, not silent: the report names the file left out.
    expect(offline.notes.join('\n')).toContain(torn.key);
    const lacking = new Set(readSourceBars(w.ds, STOCKS, 'MSFT', torn.day, torn.day).map((b) => b.time));
    expect(lacking.size).toBe(1);
    expect(await readBars('MSFT', { cacheDir, adjust: 'none', start, end: END })).toEqual(readSourceBars(w.ds, STOCKS, 'MSFT', start, END).filter((b) => !lacking.has(b.time)));

    // Online, the body still matches the listing: it is read from the mirror (no GET) and its
    // meta file written again, so offline sees the day once more.
    await w.server.resetStats();
    const online = await preload('AAPL', { ...opts(cacheDir), start, keepRaw: true });
    expect(online).toMatchObject({ files: { listed: files.length, downloaded: files.length, failed: 0 }, fromRawMirror: files.length });
    expect((await w.server.stats()).totalGets).toBe(0);
    const again = await preload('NVDA', dead);
    expect(again.files).toEqual({ listed: files.length, downloaded: files.length, skipped: 0, failed: 0 });
  });
});

describe('progress functions', () => {
  it('get, list and clear a job’s progress', async () => {
    const cacheDir = w.cacheDir('progress');
    await preload(['NVDA', 'META'], { ...opts(cacheDir), start: '2026-11-01' });
    const files = dayFilesFor(w.ds, STOCKS, '2026-11-01', END);
    const [job] = await getProgress(['META', 'NVDA'], { cacheDir });
    expect(job).toMatchObject({ dataset: STOCKS, interval: '1d', symbols: ['META', 'NVDA'], doneKeys: files.length });
    expect((await listProgress({ cacheDir })).map((j) => j.job)).toEqual([job?.job]);
    expect(await getProgress('NVDA', { cacheDir })).toEqual([]); // another job: NVDA alone

    expect(await clearProgress(['NVDA', 'META'], { cacheDir })).toBe(files.length);
    expect(await listProgress({ cacheDir })).toEqual([]);
    await w.server.resetStats();
    const again = await preload(['NVDA', 'META'], { ...opts(cacheDir), start: '2026-11-01' });
    expect(again.files.downloaded).toBe(files.length);
  });
});
