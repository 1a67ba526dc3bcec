// `sync` on the SQLite cache: a week of new files after what is stored, a republished day in the
// week it lists again, nothing new, the lock against a second sync, and an empty store.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, readBars, sync } from '../../src/index.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { bodyOf, readSourceBars, rowsOfBody } from '../fixtures/source-bars.js';
import { lockCache } from '../../src/store/sqlite/lock.js';
import { END, putObject, runCli, STOCKS, startWorld, type CliResult, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const now = new Date('2026-11-23T18:00:00Z');
const WEEK_AGO = '2026-11-13';
const opts = (cacheDir: string) => ({ cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now, adjust: 'none' as const });

describe('sync', () => {
  it('downloads only the days after what is stored, once for every job of the dataset, and replaces a day republished in the week it lists again', async () => {
    const cacheDir = w.cacheDir('sync');
    await preload(['TSLA', 'AAPL'], { ...opts(cacheDir), period: '5y', end: WEEK_AGO });
    await preload(['MSFT'], { ...opts(cacheDir), period: '5y', end: WEEK_AGO });

    // The provider republished 2026-11-12 with TSLA's close changed.
    const republished = dayFilesFor(w.ds, STOCKS, '2026-11-12', '2026-11-12')[0];
    if (!republished) throw new Error('no file on 2026-11-12');
    const rows = rowsOfBody(readFileSync(join(w.ds.dir, w.ds.bucket, `${republished.key}._S3rver_object`)), republished.day);
    const changed = rows.map((r) => (r.ticker === 'TSLA' ? { ...r, close: r.close + 7 } : r));
    const restore = putObject(w, republished.key, bodyOf(changed));
    try {
      await w.server.resetStats();
      const report = await sync(opts(cacheDir));
      const fresh = dayFilesFor(w.ds, STOCKS, '2026-11-14', END);
      expect(fresh.length).toBe(5);
      const stats = await w.server.stats();
      expect(Object.keys(stats.gets).sort()).toEqual([...fresh.map((f) => f.key), republished.key].sort());
      expect(stats.totalGets).toBe(6);
      expect(stats.lists).toBeLessThanOrEqual(3);
      expect(report.parts).toHaveLength(1);
      expect(report.parts[0]).toMatchObject({ dataset: STOCKS, interval: '1d', symbols: ['AAPL', 'MSFT', 'TSLA'] });
      expect(report.parts[0]?.report).toMatchObject({ republished: 1, files: { downloaded: 6, failed: 0 } });

      for (const symbol of ['AAPL', 'MSFT']) {
        expect(await readBars(symbol, { cacheDir, adjust: 'none', period: '5y', end: END, now })).toEqual(readSourceBars(w.ds, STOCKS, symbol, '2021-11-21', END));
      }
      const tsla = await readBars('TSLA', { cacheDir, adjust: 'none', start: '2026-11-01', end: END, now });
      expect(tsla).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', '2026-11-01', END));
      expect(tsla.find((b) => new Date(b.time).toISOString().startsWith('2026-11-12'))?.close).toBe(changed.find((r) => r.ticker === 'TSLA')?.close);
    } finally {
      restore();
    }
  });

  it('makes only listing requests when nothing is new, and prints one part per dataset', async () => {
    const cacheDir = w.cacheDir('sync');
    // The day republished above is back to what it was: one GET, then nothing.
    await sync(opts(cacheDir));
    await w.server.resetStats();
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: cacheDir };
    const r = await runCli(['sync', '--json'], env);
    expect(r.code).toBe(0);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(0);
    expect(stats.lists).toBeGreaterThan(0);
    const doc = JSON.parse(r.stdout) as { parts: Array<{ dataset: string; files: { downloaded: number; skipped: number } }> };
    expect(doc.parts.map((p) => p.dataset)).toEqual([STOCKS]);
    expect(doc.parts[0]?.files.downloaded).toBe(0);
    // The human summary: a head line, then the part; no --clear-progress offered (sync refuses it).
    const human = await runCli(['sync'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Synced 1 dataset: 0 new or republished files downloaded\n/);
    expect(human.stdout).toMatch(/Nothing to download: all \d+ files/);
    expect(human.stdout).not.toContain('--clear-progress');
    expect((await w.server.stats()).totalGets).toBe(0);
  });

  it('stops with exit 75 and one line while another sync holds the cache, and runs once it is released', async () => {
    const cacheDir = w.cacheDir('sync');
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: cacheDir };
    // This process holds the lock as a running sync would (test/e2e/sync-lock.e2e.test.ts: real
    // syncs at once, killed ones, and a leftover pid file).
    const release = lockCache(cacheDir);
    let busy: CliResult;
    try {
      busy = await runCli(['sync'], env);
    } finally {
      release();
    }
    expect(busy.code).toBe(75);
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
    expect(busy.stderr).toContain('Another sync holds the lock');
    const after = await runCli(['sync', '--quiet'], env);
    expect(after.code).toBe(0);
  });

  it('says in one line, exit 2, that an empty store has nothing to sync, and refuses a window', async () => {
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: w.cacheDir('sync-empty') };
    const empty = await runCli(['sync'], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/nothing to sync/i);
    const windowed = await runCli(['sync', '--period', '1y'], env);
    expect(windowed.code).toBe(2);
    expect(windowed.stderr).toContain('--period');
  });
});
