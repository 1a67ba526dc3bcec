// `--all` on the SQLite cache: every row of every file stored (checked against the files, read
// here by a reader of their own), any ticker then served with no network, large minute files
// streamed through the store's sink, a kill -9 and a rerun, and the refusals.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSymbol, preload, readBars } from '../../src/index.js';
import { CSV_HEADER, dayFilesFor, STOCKS_MINUTE_DATASET } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { bodyOf, readSourceBars, readSourceRows, rowsOfBody, type SourceRow } from '../fixtures/source-bars.js';
import { CRYPTO, doneCount, END, json, putObject, runCli, spawnCli, STOCKS, startWorld, waitFor, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const now = new Date('2026-11-23T18:00:00Z');
const opts = (cacheDir: string) => ({ cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, end: END, now, adjust: 'none' as const });

/** Every bar of an interval in the cache, read with SQLite directly, keyed as readSourceRows keys them. */
function storedRows(cacheDir: string, interval: string): Map<string, SourceRow> {
  const db = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[string], SourceRow>('SELECT symbol AS ticker, day, time, open, high, low, close, volume, transactions FROM bars WHERE interval = ?')
      .all(interval);
    return new Map(rows.map((r) => [`${r.ticker}|${r.time}`, r]));
  } finally {
    db.close();
  }
}

describe('--all', () => {
  const START = '2026-09-01';

  it('stores every row of every file of the window, and counts them', async () => {
    const cacheDir = w.cacheDir('all');
    await w.server.resetStats();
    const report = await preload([], { ...opts(cacheDir), all: true, start: START });
    const source = readSourceRows(w.ds, STOCKS, START, END);
    const files = dayFilesFor(w.ds, STOCKS, START, END);
    expect(storedRows(cacheDir, '1d')).toEqual(source);
    expect(report).toMatchObject({ all: true, symbols: [], bars: source.size, tickers: new Set([...source.values()].map((r) => r.ticker)).size, failures: [] });
    expect(report.files).toEqual({ listed: files.length, downloaded: files.length, skipped: 0, failed: 0 });
    // Each file fetched once; crypto (another dataset) not at all.
    expect(Object.keys((await w.server.stats()).gets).sort()).toEqual(files.map((f) => f.key).sort());
  });

  it('then answers a ticker no command named from the store, with no request at all', async () => {
    const cacheDir = w.cacheDir('all');
    const ticker = w.ds.tickers[STOCKS]?.find((t) => t.startsWith('F')) ?? '';
    expect(ticker).not.toBe('');
    await w.server.resetStats();
    const bars = await fetchSymbol(ticker, { ...opts(cacheDir), start: START });
    expect(bars).toEqual(readSourceBars(w.ds, STOCKS, ticker, START, END));
    expect(await readBars('TSLA', { cacheDir, adjust: 'none', start: START, end: END })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START, END));
    // A symbol job over the same days takes them from the --all run: listed, not fetched.
    const r = await preload(['AAPL'], { ...opts(cacheDir), start: START });
    expect(r.files.downloaded).toBe(0);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(0);
  });

  it('replaces a republished day for every ticker, including a row the new file dropped, and leaves other datasets alone', async () => {
    const cacheDir = w.cacheDir('all-republish');
    await preload([], { ...opts(cacheDir), all: true, start: '2026-11-01' });
    await preload(['BTC-USD'], { ...opts(cacheDir), start: '2026-11-01' });
    const crypto = readSourceBars(w.ds, CRYPTO, 'X:BTC-USD', '2026-11-01', END);
    const file = dayFilesFor(w.ds, STOCKS, '2026-11-12', '2026-11-12')[0];
    if (!file) throw new Error('no file on 2026-11-12');
    const objectPath = join(w.ds.dir, w.ds.bucket, `${file.key}._S3rver_object`);
    const old = rowsOfBody(readFileSync(objectPath), file.day);
    // The new version drops its first ticker and changes every close of the others.
    const dropped = old[0]?.ticker ?? '';
    const kept = old.filter((r) => r.ticker !== dropped).map((r) => ({ ...r, close: r.close + 1 }));
    const restore = putObject(w, file.key, bodyOf(kept));
    try {
      const r = await preload([], { ...opts(cacheDir), all: true, start: '2026-11-01' });
      expect(r).toMatchObject({ republished: 1, files: { downloaded: 1 } });
      const day = [...storedRows(cacheDir, '1d').values()].filter((x) => x.day === file.day && !x.ticker.includes(':'));
      expect(new Map(day.map((x) => [`${x.ticker}|${x.time}`, x]))).toEqual(new Map(kept.map((x) => [`${x.ticker}|${x.time}`, x])));
      expect(day.some((x) => x.ticker === dropped)).toBe(false);
      expect(await readBars('BTC-USD', { cacheDir, start: '2026-11-01', end: END })).toEqual(crypto);
    } finally {
      restore();
    }
  });

  it('streams large minute files into the store chunk by chunk, and a body that fails its check starts over with nothing kept twice', async () => {
    const cacheDir = w.cacheDir('all-minute');
    // A minute file above the 8 MB a file is streamed from: ~400k rows, digits that gzip poorly.
    const days = ['2026-11-19'];
    const bodies = days.map((day) => gzipSync(minuteCsv(day, 420)));
    expect(Math.min(...bodies.map((b) => b.length))).toBeGreaterThan(8 * 1024 * 1024);
    const restores = days.map((day, i) => putObject(w, `${STOCKS_MINUTE_DATASET}/2026/11/${day}.csv.gz`, bodies[i] as Buffer));
    try {
      await w.server.resetStats();
      // The first answer for the second file stops halfway: its chunks already staged are void.
      await w.server.setFaults([{ match: '2026-11-19', times: 1, kind: 'short-body' }]);
      const report = await preload([], { ...opts(cacheDir), all: true, dataset: STOCKS_MINUTE_DATASET, start: '2026-11-18', retryDelayMs: 10 });
      const expected = new Map<string, SourceRow>();
      days.forEach((day, i) => {
        for (const r of rowsOfBody(bodies[i] as Buffer, day)) expected.set(`${r.ticker}|${r.time}`, r);
      });
      expect(report).toMatchObject({ failures: [], bars: expected.size, files: { downloaded: 1 } });
      expect((await w.server.stats()).gets[`${STOCKS_MINUTE_DATASET}/2026/11/2026-11-19.csv.gz`]).toBe(2);
      expect(storedRows(cacheDir, '1m')).toEqual(expected);
    } finally {
      await w.server.setFaults([]);
      for (const restore of restores) restore();
    }
  }, 180_000);

  it('after a kill -9 mid-run, a rerun leaves the store exact and fetches again at most the files that were in flight', async () => {
    const cacheDir = w.cacheDir('all-kill');
    const workers = 4;
    const start = '2025-06-01';
    const files = dayFilesFor(w.ds, STOCKS, start, END);
    await w.server.setLatency(20);
    await w.server.resetStats();
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: cacheDir };
    const args = ['--all', '--start', start, '--end', END, '--workers', String(workers), '--json'];
    const child = spawnCli(args, env);
    const exited = new Promise((resolve) => child.on('close', resolve));
    await waitFor(() => doneCount(cacheDir) >= 40, 60_000);
    child.kill('SIGKILL');
    await exited;
    await w.server.setLatency(0);
    const rerun = await runCli(args, env);
    expect(rerun.code).toBe(0);
    expect(json(rerun).failures).toEqual([]);
    const gets = (await w.server.stats()).gets;
    const twice = Object.values(gets).filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(workers);
    expect(Object.keys(gets).sort()).toEqual(files.map((f) => f.key).sort());
    expect(storedRows(cacheDir, '1d')).toEqual(readSourceRows(w.ds, STOCKS, start, END));
  }, 180_000);

  it('refuses symbols with --all, and a dataset that holds no bars, in one line with exit 2', async () => {
    const env = { ...w.env, MARKET_DATA_CACHE_DIR: w.cacheDir('all-bad') };
    const withSymbols = await runCli(['--all', 'TSLA'], env);
    expect(withSymbols.code).toBe(2);
    expect(withSymbols.stderr.trim().split('\n')).toHaveLength(1);
    expect(withSymbols.stderr).toMatch(/--all .*TSLA/);
    const trades = await runCli(['--all', '--dataset', 'us_stocks_sip/trades_v1'], env);
    expect(trades.code).toBe(2);
    expect(trades.stderr.trim().split('\n')).toHaveLength(1);
    expect(trades.stderr).toContain('--dataset');
    expect(trades.stderr).toContain('us_stocks_sip/trades_v1');
  });
});

/** A minute file of `tickers` tickers x 960 minutes, sorted by ticker, prices with many digits. */
function minuteCsv(day: string, tickers: number): string {
  const midnight = Date.parse(`${day}T09:00:00Z`);
  const lines = [CSV_HEADER];
  let x = 12345;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let t = 0; t < tickers; t++) {
    const ticker = `M${String(t).padStart(4, '0')}`;
    for (let m = 0; m < 960; m++) {
      const p = 10 + next() * 90;
      lines.push(`${ticker},${Math.floor(next() * 1e6)},${p.toFixed(4)},${(p + next()).toFixed(4)},${(p + 1).toFixed(4)},${(p - 1).toFixed(4)},${BigInt(midnight + m * 60_000) * 1_000_000n},${Math.floor(next() * 1000)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
