// Intraday bars end to end: minute files in the store, preloaded by the CLI, read back
// aggregated through `show` and `fetchSymbol`, checked against bars computed here by hand.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSymbol } from '../../src/index.js';
import { CSV_HEADER, STOCKS_MINUTE_DATASET } from '../fixtures/generate.js';
import { prepareStore, S3_CREDENTIALS, startS3Server } from '../fixtures/s3-server.js';
import { readSourceMinuteBars } from '../fixtures/source-bars.js';
import { cachedBarsAt, END, json, putObject, runCli, startWorld, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
  for (const day of DAYS) {
    const rows = ['AAPL', 'TSLA', 'ZZZZ'].flatMap((t) => minutesOf(day).map((m) => row(t, m)));
    putObject(w, `us_stocks_sip/minute_aggs_v1/2026/11/${day}.csv.gz`, gzipSync(`${CSV_HEADER}\n${rows.join('\n')}\n`));
  }
});
afterAll(async () => {
  await w?.close();
});

// Both in EST (UTC-5): 04:00-19:59 New York is 09:00Z-00:59Z next day.
const DAYS = ['2026-11-18', '2026-11-19'];
const EST = 5 * 3_600_000;

interface Minute {
  time: number;
  local: number; // minutes since New York midnight
  i: number;
}

function minutesOf(day: string): Minute[] {
  const midnight = Date.parse(`${day}T00:00:00Z`) + EST;
  return Array.from({ length: 16 * 60 }, (_, k) => {
    const local = 4 * 60 + k;
    return { time: midnight + local * 60_000, local, i: k + (day === DAYS[1] ? 10_000 : 0) };
  });
}

const price = (i: number): number => 100 + (i % 97) / 4;
function row(ticker: string, m: Minute): string {
  const p = price(m.i) + (ticker === 'TSLA' ? 0 : 50);
  return `${ticker},${m.i % 13},${p},${p + 0.5},${p + 1},${p - 1},${BigInt(m.time) * 1_000_000n},${m.i % 5}`;
}

/** Independent of src/read/aggregate.ts: EST fixed, regular = local minutes [570, 960). */
function expected(minutes: number, regular: boolean) {
  const groups = new Map<number, Minute[]>();
  for (const day of DAYS) {
    for (const m of minutesOf(day)) {
      if (regular && (m.local < 570 || m.local >= 960)) continue;
      const bucket = m.time - (m.local % minutes) * 60_000;
      groups.set(bucket, [...(groups.get(bucket) ?? []), m]);
    }
  }
  return [...groups].map(([time, ms]) => ({
    time,
    open: price(ms[0]?.i ?? 0),
    high: Math.max(...ms.map((m) => price(m.i) + 1)),
    low: Math.min(...ms.map((m) => price(m.i) - 1)),
    close: price(ms.at(-1)?.i ?? 0) + 0.5,
    volume: ms.reduce((n, m) => n + (m.i % 13), 0),
    transactions: ms.reduce((n, m) => n + (m.i % 5), 0),
  }));
}

describe('minute bars', () => {
  it('preloads minute files and serves 1m, 5m and 1h bars for either session', async () => {
    const cache = w.cacheDir('minutes');
    const window = ['--start', DAYS[0] ?? '', '--end', DAYS[1] ?? '', '--cache-dir', cache];
    const r = await runCli(['TSLA', '--interval', '5m', ...window, '--json'], w.env);
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ dataset: 'us_stocks_sip/minute_aggs_v1', files: { listed: 2, downloaded: 2 }, bars: 2 * 960 });
    expect(cachedBarsAt(cache, 'TSLA', '1m')).toHaveLength(2 * 960);

    const show = await runCli(['show', 'TSLA', '--adjust', 'none', '--interval', '1h', '--session', 'regular', ...window, '--format', 'jsonl'], w.env);
    expect(show.code).toBe(0);
    expect(show.stdout.trim().split('\n').map((l): unknown => JSON.parse(l))).toEqual(expected(60, true));

    const opts = { cacheDir: cache, endpoint: 'http://127.0.0.1:9', credentials: { ...S3_CREDENTIALS }, start: DAYS[0], end: DAYS[1], adjust: 'none' as const };
    expect(await fetchSymbol('TSLA', { ...opts, interval: '5m', session: 'regular' })).toEqual(expected(5, true));
    expect(await fetchSymbol('TSLA', { ...opts, interval: '15m' })).toEqual(expected(15, false));
    expect(await fetchSymbol('TSLA', { ...opts, interval: '1m' })).toEqual(expected(1, false));
  });
});

describe('generated minute files of realistic size', () => {
  it('streams every ticker\'s file and stores each TSLA and AAPL minute exactly as the file has it', async () => {
    // Two days of the generator's minute mode: ~29 MB and ~1.7 million rows each, all tickers.
    const ds = await prepareStore(
      { dir: join(tmpdir(), 'pmd-test-minute-template'), stockYears: 0, cryptoYears: 0, endDate: END, minuteFrom: '2026-11-19' },
      join(w.root, 'minute-store'),
    );
    expect(ds.files.map((f) => f.day)).toEqual(['2026-11-19', '2026-11-20']);
    // Above the 8 MiB where downloads switch to streaming, so that is the path under test.
    for (const f of ds.files) expect(f.size).toBeGreaterThan(8 * 1024 * 1024);
    const server = await startS3Server({ dir: ds.dir });
    try {
      const cache = w.cacheDir('generated-minutes');
      const env = { ...w.env, MASSIVE_S3_ENDPOINT: server.endpoint };
      const r = await runCli(['AAPL', 'TSLA', '--interval', '1m', '--start', '2026-11-19', '--end', END, '--cache-dir', cache, '--json'], env);
      expect(r.code).toBe(0);
      expect(json(r)).toMatchObject({ dataset: STOCKS_MINUTE_DATASET, files: { listed: 2, downloaded: 2, failed: 0 } });
      for (const symbol of ['AAPL', 'TSLA']) {
        const source = readSourceMinuteBars(ds, STOCKS_MINUTE_DATASET, symbol, '2026-11-19', END);
        expect(source.length).toBeGreaterThan(2 * 500);
        expect(cachedBarsAt(cache, symbol, '1m')).toEqual(source);
      }
      expect((await server.stats()).totalGets).toBe(2);
    } finally {
      await server.stop();
    }
    // Generating ~58 MB of gzip (the first time: the template is kept) and checking 3.4 million
    // rows takes ~25 s alone; 3 minutes is the margin of a loaded 2-core machine (94 s seen).
  }, 180_000);

  it('streams large files from the raw mirror (--keep-raw) with no GET and the same minutes', async () => {
    const ds = await prepareStore(
      { dir: join(tmpdir(), 'pmd-test-minute-template'), stockYears: 0, cryptoYears: 0, endDate: END, minuteFrom: '2026-11-19' },
      join(w.root, 'minute-store-raw'),
    );
    const server = await startS3Server({ dir: ds.dir });
    try {
      const cache = w.cacheDir('generated-minutes-raw');
      const env = { ...w.env, MASSIVE_S3_ENDPOINT: server.endpoint };
      const run = (symbol: string) => runCli([symbol, '--interval', '1m', '--start', '2026-11-19', '--end', END, '--cache-dir', cache, '--keep-raw', '--json'], env);
      const fill = await run('TSLA');
      expect(fill.code).toBe(0);
      expect(json(fill)).toMatchObject({ files: { downloaded: 2 }, fromRawMirror: 0 });
      await server.resetStats();
      // Another symbol: every (large, hence streamed) file comes from the mirror.
      const reuse = await run('AAPL');
      expect(reuse.code).toBe(0);
      expect(json(reuse)).toMatchObject({ files: { listed: 2, downloaded: 2, failed: 0 }, fromRawMirror: 2, bytes: 0 });
      expect((await server.stats()).totalGets).toBe(0);
      expect(cachedBarsAt(cache, 'AAPL', '1m')).toEqual(readSourceMinuteBars(ds, STOCKS_MINUTE_DATASET, 'AAPL', '2026-11-19', END));
    } finally {
      await server.stop();
    }
  });
});
