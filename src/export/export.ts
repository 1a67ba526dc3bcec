// `exportBars`: the bars of the store (no network) as a Parquet or CSV lake under one directory.
// Read per symbol through the same steps as `readBars` (stored bars, adjusted, then aggregated),
// appended to an in-memory DuckDB table, written per partition into staging, swapped into place.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sessionDay } from '../actions/adjust.js';
import { AbortedError, InvalidOptionError } from '../errors.js';
import { describeValue, resolveOptions, type PreloadOptions } from '../options.js';
import { planJobs } from '../plan.js';
import { readSymbolBars } from '../read-bars.js';
import { withStore } from '../store/open.js';
import { BarTable, loadDuckDb } from './duckdb.js';
import { claimOut, createStaging, encodePartitionValue, inside, swapIntoPlace, writeMarker } from './layout.js';
import { EXPORT_FORMATS, EXPORT_PARTITIONS, type ExportEvent, type ExportOptions, type ExportReport, type ExportedFile } from './types.js';

const exportSchema = z.object({
  out: z.string().min(1).describe('a directory path'),
  format: z.enum(EXPORT_FORMATS).default('parquet').describe(`one of ${EXPORT_FORMATS.join(', ')}`),
  partition: z.enum(EXPORT_PARTITIONS).default('year').describe(`one of ${EXPORT_PARTITIONS.join(', ')}`),
  force: z.boolean().default(false).describe('a boolean'),
  signal: z.instanceof(AbortSignal).optional().describe('an AbortSignal'),
  onProgress: z
    .custom<(event: ExportEvent) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
});

const READ_KEYS = ['cacheDir', 'store', 'period', 'start', 'end', 'interval', 'session', 'dataset', 'adjust', 'now'] as const;

/**
 * Writes the stored bars of `symbols` under `options.out` as a hive-partitioned lake:
 * `interval=1d/year=2024/part-0.parquet` (zstd; columns symbol, time (UTC timestamp), day (the New
 * York session date), open, high, low, close, volume, transactions, interval; sorted by symbol
 * and time), or CSV. Reads the store only, never the network; stock bars are split-adjusted by
 * default, as `readBars` returns them. With no `period` or `start`, everything stored.
 *
 * The partitions it writes replace the same partitions of an earlier export in `out`, all at the
 * end: an export that fails or is stopped leaves the previous one whole. Needs the optional
 * package `@duckdb/node-api`.
 *
 * @throws InvalidOptionError for a bad option or symbol, or an `out` that holds other files.
 * @throws ConfigurationError when `@duckdb/node-api` is missing, or adjusted bars lack stored actions.
 * @throws AbortedError when `signal` stops it.
 * @example
 * const report = await exportBars(['TSLA', 'I:SPX'], { out: './lake', period: '5y' });
 */
export async function exportBars(symbols: readonly string[], options: ExportOptions): Promise<ExportReport> {
  const started = Date.now();
  const e = parseExportOptions(options);
  const readInput: PreloadOptions = {};
  for (const key of READ_KEYS) if (options[key] !== undefined) Object.assign(readInput, { [key]: options[key] });
  // Like `show`: with no window given, everything stored.
  if (readInput.period === undefined && readInput.start === undefined) readInput.period = 'max';
  const o = resolveOptions(readInput);
  const plans = planJobs(symbols, o);
  const firstPlan = plans[0];
  if (firstPlan === undefined) throw new RangeError('no plan');
  const interval = o.interval;
  const intervalDir = `interval=${encodePartitionValue(interval)}`;
  const partOf = (ticker: string) => (day: string): string => {
    if (e.partition === 'none') return intervalDir;
    return `${intervalDir}/${e.partition === 'year' ? `year=${day.slice(0, 4)}` : `symbol=${encodePartitionValue(ticker)}`}`;
  };
  const stopped = (): void => {
    if (e.signal?.aborted) throw new AbortedError('Export stopped: the previous export in the directory is unchanged');
  };

  // Before touching `out`: a missing writer fails with nothing written.
  const duck = await loadDuckDb();
  const out = resolve(e.out);
  const marker = await claimOut(out, e.force);
  const staging = await createStaging(out);
  const table = await BarTable.open(duck);
  try {
    const rowsByPart = new Map<string, number>();
    const exported: string[] = [];
    const empty: string[] = [];
    const total = plans.reduce((n, p) => n + p.symbols.length, 0);
    await withStore(o, async (store) => {
      for (const plan of plans) {
        for (const s of plan.symbols) {
          stopped();
          const bars = await readSymbolBars(store, plan, s, o.adjust);
          stopped();
          const counts = await table.append(s.ticker, interval, bars, sessionDay, partOf(s.ticker));
          for (const [part, n] of counts) rowsByPart.set(part, (rowsByPart.get(part) ?? 0) + n);
          (bars.length > 0 ? exported : empty).push(s.ticker);
          e.onProgress?.({ type: 'export-read', symbol: s.ticker, rows: bars.length, symbolsDone: exported.length + empty.length, symbolsTotal: total });
        }
      }
    });

    const exportedAt = new Date().toISOString();
    const datasets = plans.map((p) => p.dataset);
    const metadata = {
      adjust: o.adjust,
      dataset: datasets.join(','),
      exported_at: exportedAt,
      interval,
      generator: `preload-market-data ${version()}`,
    };
    const ext = e.format === 'csv' ? 'csv' : 'parquet';
    const parts = [...rowsByPart.keys()].sort();
    const files: ExportedFile[] = [];
    for (const part of parts) {
      stopped();
      const dir = inside(join(staging, 'new'), part);
      await mkdir(dir, { recursive: true });
      const path = inside(dir, `part-0.${ext}`);
      await table.write(part, path, e.format, metadata);
      const file = { path: `${part}/part-0.${ext}`, rows: rowsByPart.get(part) ?? 0, bytes: (await stat(path)).size };
      files.push(file);
      e.onProgress?.({ type: 'export-file', ...file, filesDone: files.length, filesTotal: parts.length });
    }
    stopped();

    if (parts.length > 0) {
      // Another layout (format or partitioning) of this interval is replaced whole, never mixed.
      const previous = marker.intervals[interval];
      const relayout = previous !== undefined && (previous.format !== e.format || previous.partition !== e.partition);
      await swapIntoPlace(out, staging, relayout ? [intervalDir] : parts);
      marker.intervals[interval] = { format: e.format, partition: e.partition, adjust: o.adjust, exportedAt };
      await writeMarker(out, marker);
    }
    return {
      out,
      format: e.format,
      partition: e.partition,
      interval,
      adjust: o.adjust,
      datasets,
      start: firstPlan.start,
      end: firstPlan.end,
      symbols: [...exported].sort(),
      empty: [...empty].sort(),
      files,
      rows: files.reduce((n, f) => n + f.rows, 0),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      elapsedMs: Date.now() - started,
    };
  } finally {
    table.close();
    await rm(staging, { recursive: true, force: true });
  }
}

function parseExportOptions(options: ExportOptions): z.output<typeof exportSchema> {
  const input = { out: options.out, format: options.format, partition: options.partition, force: options.force, signal: options.signal, onProgress: options.onProgress };
  const parsed = exportSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const option = String(parsed.error.issues[0]?.path[0] ?? 'options');
  const value = (input as Record<string, unknown>)[option];
  const field = (exportSchema.shape as Record<string, z.ZodType | undefined>)[option];
  throw new InvalidOptionError(option, value, `Expected \`${option}\` to be ${field?.description ?? 'valid'}, got ${describeValue(option, value)}`);
}

let cachedVersion: string | undefined;
function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
