// exportBars and `preload-market-data export`, judged by a reader that did not write the files
// (hyparquet, pure JavaScript) against the store read directly (better-sqlite3 on the cache file).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, ConfigurationError, InvalidOptionError, exportBars, readBars, type Bar, type ExportEvent } from '../../src/index.js';
import { loadDuckDb } from '../../src/export/duckdb.js';
import { MARKER, encodePartitionValue, inside } from '../../src/export/layout.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { JobSpec, Store } from '../../src/store/types.js';
import type { DayFile, ParsedRow } from '../../src/types.js';
import { cachedBarsAt, runCli } from '../e2e/helpers.js';
import { toBar, type LakeRow } from '../fixtures/lake.js';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';

const STOCKS: JobSpec = { job: 'export/stocks', dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', tickers: ['AAPL', 'TSLA'] };
const INDICES: JobSpec = { job: 'export/indices', dataset: 'us_indices/day_aggs_v1', interval: '1d', tickers: ['I:SPX'] };
const SPLIT_DAY = '2022-08-25'; // TSLA's 3-for-1 (GENERATED_SPLITS)
const SYMBOLS = ['TSLA', 'AAPL', 'I:SPX'];

/** Weekdays from 2021-12-01 to 2023-01-31: three years, TSLA's split in the middle. */
const DAYS = (() => {
  const out: string[] = [];
  for (let t = Date.parse('2021-12-01T00:00:00Z'); t <= Date.parse('2023-01-31T00:00:00Z'); t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
})();

function rawBar(ticker: string, day: string, i: number): ParsedRow {
  // Raw TSLA prices before the split are 3 times the later level, volume a third, as traded.
  const factor = ticker === 'TSLA' && day < SPLIT_DAY ? 3 : 1;
  const base = (ticker === 'AAPL' ? 150 : ticker === 'TSLA' ? 250 : 4000) + i * 0.37;
  return {
    ticker,
    time: Date.parse(`${day}T05:00:00Z`),
    open: (base - 0.5) * factor,
    high: (base + 1.25) * factor,
    low: (base - 1.75) * factor,
    close: base * factor,
    volume: ticker === 'I:SPX' ? 0 : (1_000_000.5 + i) / factor,
    transactions: ticker === 'I:SPX' ? null : 5000 + i,
  };
}

function dayFile(dataset: string, day: string): DayFile {
  return { key: `${dataset}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 1000, etag: `etag-${day}`, lastModified: undefined };
}

/** Fills a store through its own queue, as a run does, and stores TSLA's and AAPL's actions. */
async function fill(store: Store): Promise<void> {
  for (const job of [STOCKS, INDICES]) {
    await store.prepareJob(job, { clear: false });
    const queue = await store.openQueue([job]);
    try {
      await queue.offer(job, DAYS.map((d) => dayFile(job.dataset, d)));
      const items = await queue.claim(DAYS.length);
      await queue.complete(items.map((item) => ({ job, file: item.file, rows: job.tickers.map((t) => rawBar(t, item.file.day, DAYS.indexOf(item.file.day))) })));
    } finally {
      await queue.close();
    }
  }
  const fixture = corporateActionsFixture();
  await store.replaceActions(new Map(['TSLA', 'AAPL'].map((t) => [t, fixture.get(t) ?? { splits: [], dividends: [] }])), new Date().toISOString());
}


async function readParquet(path: string): Promise<{ rows: LakeRow[]; metadata: Awaited<ReturnType<typeof parquetMetadataAsync>> }> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const rows = (await parquetReadObjects({ file, compressors })) as unknown as LakeRow[];
  return { rows, metadata };
}

/** Every file under `dir`, relative, `/`-separated, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Path -> sha256 of every file under `dir`: what an interrupted export must leave unchanged. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}


let root: string;
let cacheDir: string;
let pg: TestPostgres;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmd-export-'));
  cacheDir = join(root, 'cache');
  const store = openSqliteStore(cacheDir);
  try {
    await fill(store);
  } finally {
    await store.close();
  }
  pg = await startPostgres();
});

afterAll(async () => {
  await pg?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('exportBars to Parquet', () => {
  it('writes year partitions whose rows, types and order match the store', async () => {
    const out = join(root, 'lake-none');
    const events: ExportEvent[] = [];
    const report = await exportBars(SYMBOLS, { cacheDir, out, adjust: 'none', onProgress: (e) => events.push(e) });

    expect(listFiles(out)).toEqual([
      MARKER,
      'interval=1d/year=2021/part-0.parquet',
      'interval=1d/year=2022/part-0.parquet',
      'interval=1d/year=2023/part-0.parquet',
    ]);
    expect(report).toMatchObject({ format: 'parquet', partition: 'year', interval: '1d', adjust: 'none', symbols: ['AAPL', 'I:SPX', 'TSLA'], empty: [] });
    expect(report.rows).toBe(3 * DAYS.length);
    expect(report.files.map((f) => f.path)).toEqual(listFiles(out).slice(1));
    for (const f of report.files) expect(f.bytes).toBe(statSync(join(out, f.path)).size);
    expect(events.filter((e) => e.type === 'export-read').map((e) => e.symbol)).toEqual(['TSLA', 'AAPL', 'I:SPX']);
    expect(events.filter((e) => e.type === 'export-file')).toHaveLength(3);

    const all: LakeRow[] = [];
    for (const f of report.files) {
      const { rows, metadata } = await readParquet(join(out, f.path));
      expect(rows).toHaveLength(f.rows);
      // Sorted by (symbol, time) inside each file; every row of the file is of its year.
      const keys = rows.map((r) => `${r.symbol}|${r.time.toISOString()}`);
      expect(keys).toEqual([...keys].sort());
      const year = /year=(\d{4})/.exec(f.path)?.[1];
      for (const r of rows) expect(r.day.toISOString().slice(0, 4)).toBe(year);
      const kv = Object.fromEntries((metadata.key_value_metadata ?? []).map((x) => [x.key, x.value]));
      expect(kv).toMatchObject({ adjust: 'none', dataset: 'us_stocks_sip/day_aggs_v1,us_indices/day_aggs_v1', interval: '1d' });
      expect(Date.parse(kv['exported_at'] ?? '')).not.toBeNaN();
      const schema = Object.fromEntries(metadata.schema.slice(1).map((s) => [s.name, s]));
      expect(Object.keys(schema)).toEqual(['symbol', 'time', 'day', 'open', 'high', 'low', 'close', 'volume', 'transactions', 'interval']);
      expect(schema['time']).toMatchObject({ type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true } });
      expect(schema['day']).toMatchObject({ type: 'INT32', converted_type: 'DATE' });
      for (const c of ['open', 'high', 'low', 'close', 'volume']) expect(schema[c]).toMatchObject({ type: 'DOUBLE' });
      expect(schema['transactions']).toMatchObject({ type: 'INT64', converted_type: 'INT_64' });
      expect(schema['symbol']).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
      expect(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec))).toSatisfy((codecs: unknown[]) => codecs.every((c) => c === 'ZSTD'));
      all.push(...rows);
    }
    // Row for row against the cache file itself.
    for (const ticker of ['AAPL', 'TSLA', 'I:SPX']) {
      const exported = all.filter((r) => r.symbol === ticker).sort((a, b) => a.time.getTime() - b.time.getTime());
      expect(exported.map(toBar)).toEqual(cachedBarsAt(cacheDir, ticker, '1d'));
      expect(exported.every((r) => r.interval === '1d')).toBe(true);
      expect(exported.map((r) => r.day.toISOString().slice(0, 10))).toEqual(DAYS);
    }
    const spx = all.filter((r) => r.symbol === 'I:SPX');
    expect(spx.every((r) => r.transactions === null)).toBe(true);
    expect(all.filter((r) => r.symbol === 'AAPL').every((r) => typeof r.transactions === 'bigint')).toBe(true);
    expect(readdirSync(out).some((e) => e.startsWith('.tmp-'))).toBe(false);
  });

  it('exports split-adjusted bars by default, as readBars returns them; none differs before the split only', async () => {
    const out = join(root, 'lake-splits');
    const report = await exportBars(['TSLA'], { cacheDir, out, partition: 'none' });
    expect(report.files.map((f) => f.path)).toEqual(['interval=1d/part-0.parquet']);
    const { rows, metadata } = await readParquet(join(out, 'interval=1d/part-0.parquet'));
    expect(metadata.key_value_metadata).toContainEqual({ key: 'adjust', value: 'splits' });
    expect(rows.map(toBar)).toEqual(await readBars('TSLA', { cacheDir, period: 'max' }));
    const raw = cachedBarsAt(cacheDir, 'TSLA', '1d');
    for (const [i, r] of rows.entries()) {
      const before = r.day.toISOString().slice(0, 10) < SPLIT_DAY;
      const rawBar = raw[i] as Bar;
      expect(r.close).toBeCloseTo(before ? rawBar.close / 3 : rawBar.close, 9);
      expect(r.volume).toBeCloseTo(before ? rawBar.volume * 3 : rawBar.volume, 6);
    }
  });

  it('partitions by symbol with percent-encoded directory names', async () => {
    const out = join(root, 'lake-symbol');
    await exportBars(SYMBOLS, { cacheDir, out, partition: 'symbol', start: '2022-01-01', end: '2022-12-31' });
    expect(listFiles(out)).toEqual([MARKER, 'interval=1d/symbol=AAPL/part-0.parquet', 'interval=1d/symbol=I%3ASPX/part-0.parquet', 'interval=1d/symbol=TSLA/part-0.parquet']);
    const { rows } = await readParquet(join(out, 'interval=1d/symbol=I%3ASPX/part-0.parquet'));
    expect(rows.map(toBar)).toEqual(cachedBarsAt(cacheDir, 'I:SPX', '1d').filter((b) => new Date(b.time).getUTCFullYear() === 2022));
  });

  it('reads a PostgreSQL store the same way', async () => {
    const url = await pg.freshDatabase();
    const store = await openPostgresStore(url);
    try {
      await fill(store);
    } finally {
      await store.close();
    }
    const fromPg = join(root, 'lake-pg');
    const fromSqlite = join(root, 'lake-pg-sqlite');
    await exportBars(SYMBOLS, { store: url, out: fromPg });
    await exportBars(SYMBOLS, { cacheDir, out: fromSqlite });
    expect(listFiles(fromPg)).toEqual(listFiles(fromSqlite));
    for (const f of listFiles(fromPg).filter((p) => p.endsWith('.parquet'))) {
      expect((await readParquet(join(fromPg, f))).rows).toEqual((await readParquet(join(fromSqlite, f))).rows);
    }
  });
});

describe('exportBars of intraday bars', () => {
  it('aggregates stored minutes as readBars does, adjusted first', async () => {
    const minuteCache = join(root, 'minute-cache');
    const job: JobSpec = { job: 'export/minutes', dataset: 'us_stocks_sip/minute_aggs_v1', interval: '1m', tickers: ['TSLA'] };
    const minuteDays = ['2022-08-24', '2022-08-25'];
    const store: Store = openSqliteStore(minuteCache);
    try {
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      await queue.offer(job, minuteDays.map((d) => dayFile(job.dataset, d)));
      const items = await queue.claim(2);
      await queue.complete(
        items.map((item) => ({
          job,
          file: item.file,
          rows: Array.from({ length: 30 }, (_, m) => ({ ...rawBar('TSLA', item.file.day, m), time: Date.parse(`${item.file.day}T13:30:00Z`) + m * 60_000 })),
        })),
      );
      await queue.close();
      await store.replaceActions(new Map([['TSLA', corporateActionsFixture().get('TSLA') ?? { splits: [], dividends: [] }]]), new Date().toISOString());
    } finally {
      await store.close();
    }
    const out = join(root, 'lake-5m');
    const report = await exportBars(['TSLA'], { cacheDir: minuteCache, out, interval: '5m', start: '2022-08-01', end: '2022-08-31' });
    expect(report.files.map((f) => f.path)).toEqual(['interval=5m/year=2022/part-0.parquet']);
    const { rows } = await readParquet(join(out, 'interval=5m/year=2022/part-0.parquet'));
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.interval === '5m')).toBe(true);
    expect(rows.map(toBar)).toEqual(await readBars('TSLA', { cacheDir: minuteCache, interval: '5m', start: '2022-08-01', end: '2022-08-31' }));
    // The day before the split is adjusted (a third of the raw price), the split day is not.
    expect(rows[0]?.close).toBeCloseTo(rawBar('TSLA', '2022-08-24', 4).close / 3, 9);
    expect(rows[6]?.close).toBeCloseTo(rawBar('TSLA', '2022-08-25', 4).close, 9);
  });
});

describe('exportBars to CSV', () => {
  it('writes one CSV per partition with a header and ISO times in UTC', async () => {
    const out = join(root, 'csv');
    const report = await exportBars(SYMBOLS, { cacheDir, out, format: 'csv', adjust: 'none' });
    expect(report.files.map((f) => f.path)).toEqual(['interval=1d/year=2021/part-0.csv', 'interval=1d/year=2022/part-0.csv', 'interval=1d/year=2023/part-0.csv']);
    const rows = report.files.flatMap((f) => {
      const [header, ...lines] = readFileSync(join(out, f.path), 'utf8').trimEnd().split('\n');
      expect(header).toBe('symbol,time,day,open,high,low,close,volume,transactions,interval');
      expect(lines).toHaveLength(f.rows);
      return lines.map((l) => l.split(','));
    });
    for (const ticker of ['AAPL', 'TSLA', 'I:SPX']) {
      const mine = rows.filter((r) => r[0] === ticker);
      for (const r of mine) expect(r[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const bars: Bar[] = mine
        .map((r) => ({ time: Date.parse(r[1] ?? ''), open: Number(r[3]), high: Number(r[4]), low: Number(r[5]), close: Number(r[6]), volume: Number(r[7]), transactions: r[8] === '' ? null : Number(r[8]) }))
        .sort((a, b) => a.time - b.time);
      expect(bars).toEqual(cachedBarsAt(cacheDir, ticker, '1d'));
      expect(mine.map((r) => r[2])).toEqual(DAYS);
    }
  });
});

describe('reruns and interruptions', () => {
  it('replaces only the partitions a rerun covers', async () => {
    const out = join(root, 'rerun');
    await exportBars(SYMBOLS, { cacheDir, out, adjust: 'none' });
    const before = snapshot(out);
    await exportBars(['TSLA'], { cacheDir, out, start: '2022-01-01', end: '2022-12-31' });
    const after = snapshot(out);
    expect(after['interval=1d/year=2021/part-0.parquet']).toBe(before['interval=1d/year=2021/part-0.parquet']);
    expect(after['interval=1d/year=2023/part-0.parquet']).toBe(before['interval=1d/year=2023/part-0.parquet']);
    const { rows } = await readParquet(join(out, 'interval=1d/year=2022/part-0.parquet'));
    expect(new Set(rows.map((r) => r.symbol))).toEqual(new Set(['TSLA']));
  });

  it('leaves the previous export whole when stopped or failing mid-way', async () => {
    const out = join(root, 'interrupted');
    await exportBars(SYMBOLS, { cacheDir, out, adjust: 'none' });
    const before = snapshot(out);

    // Stopped after a file has been written to staging.
    const controller = new AbortController();
    const stopped = exportBars(SYMBOLS, { cacheDir, out, signal: controller.signal, onProgress: (e) => e.type === 'export-file' && controller.abort() });
    await expect(stopped).rejects.toBeInstanceOf(AbortedError);
    expect(snapshot(out)).toEqual(before);

    // An error thrown in the middle of reading.
    let reads = 0;
    const failing = exportBars(SYMBOLS, {
      cacheDir,
      out,
      format: 'csv',
      onProgress: (e) => {
        if (e.type === 'export-read' && ++reads === 2) throw new Error('injected');
      },
    });
    await expect(failing).rejects.toThrow('injected');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out).filter((e) => e.startsWith('.tmp-'))).toEqual([]);
  });

  it('replaces an interval whole when its layout changes', async () => {
    const out = join(root, 'relayout');
    await exportBars(SYMBOLS, { cacheDir, out });
    await exportBars(['TSLA'], { cacheDir, out, partition: 'symbol' });
    expect(listFiles(out)).toEqual([MARKER, 'interval=1d/symbol=TSLA/part-0.parquet']);
    const marker = JSON.parse(readFileSync(join(out, MARKER), 'utf8')) as { intervals: Record<string, { partition: string }> };
    expect(marker.intervals['1d']?.partition).toBe('symbol');
  });
});

describe('refusals and paths', () => {
  it('refuses a non-empty directory that is not an export, unless forced', async () => {
    const out = join(root, 'foreign');
    await mkdir(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await expect(exportBars(['TSLA'], { cacheDir, out })).rejects.toBeInstanceOf(InvalidOptionError);
    expect(listFiles(out)).toEqual(['notes.txt']);
    const r = await runCli(['export', 'TSLA', '--out', out, '--cache-dir', cacheDir], { PATH: process.env['PATH'] });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--force');
    expect(listFiles(out)).toEqual(['notes.txt']);

    const forced = await runCli(['export', 'TSLA', '--out', out, '--cache-dir', cacheDir, '--force', '--json'], { PATH: process.env['PATH'] });
    expect(forced.code).toBe(0);
    const report = JSON.parse(forced.stdout) as { rows: number; files: Array<{ path: string }> };
    expect(report.rows).toBe(DAYS.length);
    expect(listFiles(out)).toEqual([MARKER, ...report.files.map((f) => f.path), 'notes.txt'].sort());
  });

  it('rejects a symbol that would escape, writing nothing outside --out', async () => {
    const parent = join(root, 'escape');
    const out = join(parent, 'out');
    await mkdir(parent);
    for (const symbol of ['../etc', '../../x', 'A/B', '..']) {
      const r = await runCli(['export', symbol, '--out', out, '--cache-dir', cacheDir], { PATH: process.env['PATH'] });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(parent)).toEqual([]);
    expect(existsSync(join(root, 'etc'))).toBe(false);
  });

  it('encodes partition values into one safe path segment', () => {
    expect(encodePartitionValue('I:SPX')).toBe('I%3ASPX');
    expect(encodePartitionValue('BRK.B')).toBe('BRK.B');
    expect(encodePartitionValue('..')).toBe('%2E%2E');
    expect(encodePartitionValue('.')).toBe('%2E');
    expect(encodePartitionValue('../etc')).toBe('..%2Fetc');
    expect(encodePartitionValue('a\\b c')).toBe('a%5Cb%20c');
    expect(() => inside('/x/out', '..', 'etc')).toThrow(RangeError);
    expect(() => inside('/x/out', '')).toThrow(RangeError);
    expect(inside('/x/out', 'interval=1d/year=2024')).toBe('/x/out/interval=1d/year=2024');
  });

  it('says which package to install when DuckDB is missing', async () => {
    const error = await loadDuckDb('@duckdb/not-installed-here').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('npm install @duckdb/node-api');
    expect((error as Error).message).not.toContain('\n');
  });

  it('exports nothing, and changes nothing, for a symbol with no bars', async () => {
    const out = join(root, 'nothing');
    const report = await exportBars(['MSFT'], { cacheDir, out });
    expect(report).toMatchObject({ symbols: [], empty: ['MSFT'], files: [], rows: 0 });
    expect(listFiles(out)).toEqual([MARKER]);
  });

  it('prints a summary on the CLI', async () => {
    const out = join(root, 'cli');
    const r = await runCli(['export', 'TSLA', 'I:SPX', '--out', out, '--cache-dir', cacheDir, '--adjust', 'none', '--partition', 'none'], { PATH: process.env['PATH'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exported I:SPX, TSLA');
    expect(r.stdout).toContain(`rows:    ${2 * DAYS.length}`);
    const bad = await runCli(['export', 'TSLA', '--out', out, '--cache-dir', cacheDir, '--format', 'xlsx'], { PATH: process.env['PATH'] });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('preload-market-data export: Expected --format to be one of parquet, csv, got `xlsx` (string)');
  });
});
