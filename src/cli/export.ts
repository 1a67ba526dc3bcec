// `preload-market-data export SYMBOL... --out DIR`: the stored bars as a Parquet or CSV lake.
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { exportBars } from '../export/export.js';
import type { ExportEvent, ExportFormat, ExportPartition, ExportReport } from '../export/types.js';
import { EXIT, errorLine, exitCodeOf } from './exit.js';
import { formatBytes, formatDuration } from './format.js';
import { WINDOW_FLAGS, windowOptions } from './flags.js';

export const EXPORT_USAGE = `Usage: preload-market-data export <SYMBOL...> --out DIR [options]

Write bars already in the store as Parquet (zstd) or CSV files, hive-partitioned:
DIR/interval=1d/year=2024/part-0.parquet. Never touches the network. The partitions
written replace the same partitions of an earlier export in DIR, once all are written.

Options:
  --out DIR            export directory (created; a non-empty directory that is not an
                       earlier export is refused unless --force)
  --format F           parquet (default) or csv
  --partition P        year (default, of the New York session day), symbol or none
  --period P | --start YYYY-MM-DD [--end YYYY-MM-DD]
                       window (default: everything stored)
  --interval I         1m|5m|15m|30m|1h|1d (intraday built from stored minutes)
  --session S          regular or extended (default), for intraday bars
  --adjust A           splits (default), total or none; from the stored corporate actions
  --dataset PREFIX     as for preloading
  --cache-dir DIR      cache directory (env MARKET_DATA_CACHE_DIR)
  --store URL          a shared PostgreSQL store (env MARKET_DATA_STORE_URL)
  --force              write into a non-empty directory that is not an export
  --json               print one JSON report on stdout, nothing else
  --verbose            one line per file written, and stack traces on errors
Needs the optional package @duckdb/node-api. --all (every stored symbol) is not supported yet.`;

const FLAGS = {
  ...WINDOW_FLAGS,
  out: { type: 'string' },
  format: { type: 'string' },
  partition: { type: 'string' },
  force: { type: 'boolean' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAG_NAMES: ReadonlySet<string> = new Set(Object.keys(FLAGS));

/** Runs `export` with its arguments; returns the exit code. Never throws. */
export async function exportCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let verbose = false;
  try {
    const { values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: FLAGS });
    verbose = Boolean(v.verbose);
    if (v.help) {
      out(EXPORT_USAGE);
      return EXIT.ok;
    }
    if (v.all) throw new InvalidOptionError('all', true, 'export --all is not supported yet: name the symbols, e.g. `preload-market-data export TSLA AAPL --out DIR`');
    if (positionals.length === 0) throw new InvalidOptionError('symbols', positionals, 'export takes at least one symbol, e.g. `preload-market-data export TSLA --out ./lake`');
    if (v.out === undefined) throw new InvalidOptionError('out', undefined, 'export needs `out`, the directory to write, e.g. `--out ./lake`');
    const report = await exportBars(positionals, {
      ...windowOptions(v),
      out: v.out,
      ...(v.format !== undefined && { format: v.format as ExportFormat }),
      ...(v.partition !== undefined && { partition: v.partition as ExportPartition }),
      force: Boolean(v.force),
      signal: controller.signal,
      onProgress: (e: ExportEvent) => {
        if (verbose && !v.json && e.type === 'export-file') err(`wrote ${e.path}: ${e.rows} rows, ${formatBytes(e.bytes)}`);
      },
    });
    out(v.json ? JSON.stringify(report) : exportSummary(report));
    return EXIT.ok;
  } catch (error) {
    err(`preload-market-data export: ${errorLine(error, FLAG_NAMES)}`);
    if (verbose && error instanceof Error && error.stack) err(error.stack);
    return exitCodeOf(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function exportSummary(r: ExportReport): string {
  const lines = [
    r.files.length === 0
      ? `Nothing exported: no bars stored for ${r.empty.join(', ')} in this window (run \`preload-market-data <SYMBOL>\` first); ${r.out} is unchanged.`
      : `Exported ${r.symbols.join(', ')} (${r.interval}, adjust ${r.adjust}) to ${r.out}`,
    `  files:   ${r.files.length} ${r.format} (partition ${r.partition}), ${formatBytes(r.bytes)}`,
    `  rows:    ${r.rows}`,
    `  elapsed: ${formatDuration(r.elapsedMs)}`,
  ];
  if (r.files.length > 0 && r.empty.length > 0) lines.push(`  no bars stored for: ${r.empty.join(', ')}`);
  return lines.join('\n');
}
