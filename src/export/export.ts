// `exportBars`: the bars of the store (no network) as a Parquet or CSV lake under one directory.
// Read a symbol at a time through the same steps as `readBars` (stored bars, adjusted, then
// aggregated), or for `'all'` of bars as stored in one scan of the store (scan.ts), appended to
// the writer's table (duckdb.ts), written per partition into staging, swapped into place.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { missingActions } from '../read/adjusted.js';
import { hasActions } from '../actions/refresh.js';
import type { Adjust } from '../corporate-actions.js';
import { todayUtc } from '../market-time.js';
import { AbortedError, ConfigurationError, InvalidOptionError } from '../errors.js';
import { describeValue, parseOptions, resolveOptions, type PreloadOptions } from '../options.js';
import { planJobs, type JobPlan } from '../plan.js';
import { readSymbolBars } from '../read/read-bars.js';
import { withStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { BarTable, loadDuckDb } from './duckdb.js';
import { exportSchema } from './schema.js';
import { claimOut, createStaging, swapIntoPlace, writeMarker } from './layout.js';
import { Partitions } from './partition.js';
import { appendScanned, canScan } from './scan.js';
import { planStored } from './stored.js';
import { PartitionWriter } from './writer.js';
import type { ExportOptions, ExportReport } from './types.js';

/** What an export takes besides the read options (exported for the CLI's help: its defaults). */
const READ_KEYS = ['cacheDir', 'store', 'period', 'start', 'end', 'interval', 'session', 'dataset', 'adjust', 'now'] as const;

/**
 * Writes the stored bars of `symbols` (or of every symbol the store holds for the interval, with
 * `'all'`) under `options.out` as a hive-partitioned lake: `interval=1d/year=2024/part-0.parquet`
 * (zstd; columns symbol, time (UTC timestamp), day (the New York session date), open, high, low,
 * close, volume, transactions, interval; sorted by symbol and time), or CSV. Reads the store only,
 * never the network; stock bars are split-adjusted by default, as `readBars` returns them. With no
 * `period` or `start`, everything stored.
 *
 * `'all'` is the string, not a symbol in an array (`['ALL']` is Allstate): it takes the tickers as
 * stored, each in the dataset its prefix names (only those of `dataset` when one is given); a
 * stored ticker that cannot be a symbol is skipped and named in the report's `skipped`.
 *
 * Memory stays bounded whatever the size: one symbol's bars at a time are read, and the writer's
 * table spills to a database file in the staging directory. The partitions it writes replace the
 * same partitions of an earlier export in `out`, all at the end: an export that fails or is stopped
 * leaves the previous one whole. Needs the optional package `@duckdb/node-api`.
 *
 * @throws InvalidOptionError for a bad option or symbol, or an `out` that holds other files.
 * @throws ConfigurationError when `@duckdb/node-api` is missing, or adjusted stock bars lack stored
 * actions (as `readBars`; with `'all'`, checked for every stock before anything is written).
 * @throws AbortedError when `signal` stops it.
 * @example
 * const report = await exportBars(['TSLA', 'I:SPX'], { out: './lake', period: '5y' });
 * const market = await exportBars('all', { out: './lake', adjust: 'none' });
 */
export async function exportBars(symbols: readonly string[] | 'all', options: ExportOptions): Promise<ExportReport> {
  const started = Date.now();
  if (symbols !== 'all' && !Array.isArray(symbols)) {
    throw new InvalidOptionError('symbols', symbols, `Expected \`symbols\` to be an array of symbols or 'all', got ${describeValue('symbols', symbols)}`);
  }
  const e = parseExportOptions(options);
  const readInput: PreloadOptions = {};
  for (const key of READ_KEYS) if (options[key] !== undefined) Object.assign(readInput, { [key]: options[key] });
  // Like `show`: with no window given, everything stored.
  if (readInput.period === undefined && readInput.start === undefined) readInput.period = 'max';
  const o = resolveOptions(readInput);
  // Named symbols are checked before `out` is touched; the store's are known once it is open.
  const named = symbols === 'all' ? undefined : planJobs(symbols, o);
  const interval = o.interval;
  const parts = new Partitions(e.partition, interval);
  const stopped = (): void => {
    if (e.signal?.aborted) throw new AbortedError('Export stopped: the previous export in the directory is unchanged');
  };

  // Before touching `out`: a missing writer fails with nothing written.
  const duck = await loadDuckDb();
  const out = resolve(e.out);
  const marker = await claimOut(out, e.force);
  const staging = await createStaging(out);
  let table: BarTable | undefined;
  let writer: PartitionWriter | undefined;
  try {
    const t = await BarTable.open(duck, staging, e.memoryLimitMb);
    table = t;
    const exported: string[] = [];
    const empty: string[] = [];
    const exportedAt = new Date(started).toISOString();
    const writerFor = (datasets: readonly string[]): PartitionWriter =>
      new PartitionWriter(t, staging, {
        format: e.format,
        interval,
        metadata: { adjust: o.adjust, dataset: datasets.join(','), exported_at: exportedAt, interval, generator: `preload-market-data ${version()}` },
        onFile: (file, done) => e.onProgress?.({ type: 'export-file', ...file, filesDone: done, filesTotal: Math.max(done, parts.list().length) }),
      });
    let late = new Set<string>();
    const { plans, skipped, w } = await withStore(o, async (store) => {
      const stored = named === undefined ? planStored(await store.listSymbols(storedInterval(interval)), o) : { plans: named, skipped: [] };
      if (named === undefined) await checkActions(store, stored.plans, o.adjust);
      const w = (writer = writerFor(stored.plans.map((p) => p.dataset)));
      const done = { ...stored, w };
      const reads = stored.plans.flatMap((plan) => plan.symbols.map((s) => ({ plan, s })));
      // Ids in sorted ticker order: the files' (symbol, time) order is then an order of numbers.
      const tickers = [...new Set(reads.map((r) => r.s.ticker))].sort();
      const sid = new Map(tickers.map((t, i) => [t, i]));
      await t.setSymbols(tickers);
      if (named === undefined && canScan(stored.plans, e.partition)) {
        // The whole market as stored: one pass along the store's day-major key (scan.ts), each
        // year's file written as soon as its rows are in.
        const onYears = (years: string[]): void => {
          for (const part of parts.addYears(years)) w.start(part);
        };
        const scanned = await appendScanned(store, t, stored.plans, sid, o.adjust, { stopped, onProgress: e.onProgress, onYears });
        parts.addYears(scanned.years);
        late = new Set(parts.addYears(scanned.late).map((p) => p.dir));
        for (const [id, ticker] of tickers.entries()) {
          if ((scanned.rows[id] ?? 0) > 0) parts.addSymbol(id, ticker);
          ((scanned.rows[id] ?? 0) > 0 ? exported : empty).push(ticker);
        }
        return done;
      }
      for (const { plan, s } of reads) {
        stopped();
        const bars = await readSymbolBars(store, plan, s, o.adjust);
        stopped();
        const id = sid.get(s.ticker) ?? 0;
        await t.append(id, bars, parts.dayOf);
        if (bars.length > 0) parts.addSymbol(id, s.ticker);
        (bars.length > 0 ? exported : empty).push(s.ticker);
        e.onProgress?.({ type: 'export-read', symbol: s.ticker, rows: bars.length, symbolsDone: exported.length + empty.length, symbolsTotal: reads.length });
      }
      return done;
    });
    t.finish();
    const datasets = plans.map((p) => p.dataset);
    const partitions = parts.list();
    const files = await w.finish(partitions, late, stopped);
    stopped();
    table.close();
    table = undefined;

    if (partitions.length > 0) {
      // Another layout (format or partitioning) of this interval is replaced whole, never mixed.
      const previous = marker.intervals[interval];
      const relayout = previous !== undefined && (previous.format !== e.format || previous.partition !== e.partition);
      await swapIntoPlace(out, staging, relayout ? [parts.intervalDir] : partitions.map((p) => p.dir));
      marker.intervals[interval] = { format: e.format, partition: e.partition, adjust: o.adjust, exportedAt };
      await writeMarker(out, marker);
    }
    const first = plans[0];
    return {
      out,
      format: e.format,
      partition: e.partition,
      interval,
      adjust: o.adjust,
      datasets,
      start: first?.start,
      end: first?.end ?? o.end ?? todayUtc(o.now),
      symbols: [...exported].sort(),
      empty: [...empty].sort(),
      skipped,
      files,
      rows: files.reduce((n, f) => n + f.rows, 0),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      elapsedMs: Date.now() - started,
    };
  } finally {
    // A partition still being written when the export failed or stopped ends before the table closes.
    await writer?.settle();
    table?.close();
    await rm(staging, { recursive: true, force: true });
  }
}

/** What the store keeps for an interval: day bars, or the minutes intraday bars are built from. */
function storedInterval(interval: string): '1d' | '1m' {
  return interval === '1d' ? '1d' : '1m';
}

/**
 * Adjusted bars of a stock need its stored actions, as `readBars` says: for `'all'`, every stock
 * is checked at once, before hours of reading end in that refusal.
 */
async function checkActions(store: Store, plans: readonly JobPlan[], adjust: Adjust): Promise<void> {
  if (adjust === 'none') return;
  const stocks = plans.filter((p) => hasActions(p.dataset)).flatMap((p) => p.symbols.map((s) => s.ticker));
  if (stocks.length === 0) return;
  const fetched = await store.actionsFetchedAt(stocks);
  const missing = stocks.filter((t) => !fetched.has(t));
  const firstMissing = missing[0];
  if (firstMissing === undefined) return;
  const error = missingActions(firstMissing);
  throw new ConfigurationError(`${error.message} (${missing.length} of the ${stocks.length} stocks stored have no actions stored)`);
}

function parseExportOptions(options: ExportOptions): z.output<typeof exportSchema> {
  const input = { out: options.out, format: options.format, partition: options.partition, force: options.force, memoryLimitMb: options.memoryLimitMb, signal: options.signal, onProgress: options.onProgress };
  return parseOptions(exportSchema, input);
}

let cachedVersion: string | undefined;
function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
