// `preload-market-data export (SYMBOL... | --all) --out DIR`: the stored bars as a Parquet or CSV lake.
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { exportBars } from '../export/export.js';
import type { ExportEvent, ExportFormat, ExportPartition, ExportReport } from '../export/types.js';
import { EXIT, errorLine, exitCodeOf } from './exit.js';
import { formatBytes, formatDuration } from './format.js';
import type { UiStream } from './progress-ui.js';
import { WINDOW_FLAGS, windowOptions } from './flags.js';

export const EXPORT_USAGE = `Usage: preload-market-data export (<SYMBOL...> | --all) --out DIR [options]

Write bars already in the store as Parquet (zstd) or CSV files, hive-partitioned:
DIR/interval=1d/year=2024/part-0.parquet. Never touches the network. The partitions
written replace the same partitions of an earlier export in DIR, once all are written.

Options:
  --all                every symbol the store holds for the interval (with --dataset,
                       only that dataset's tickers)
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
On a terminal a progress line (symbols and rows read, files written) is drawn on stderr.
Needs the optional package @duckdb/node-api.`;

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
export async function exportCommand(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
  io: { stderr: UiStream } = { stderr: process.stderr },
): Promise<number> {
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
    if (v.all && positionals.length > 0) {
      throw new InvalidOptionError('all', positionals, `export takes symbols or --all, not both (got --all and ${positionals.join(' ')})`);
    }
    if (!v.all && positionals.length === 0) {
      throw new InvalidOptionError('symbols', positionals, 'export takes at least one symbol, or --all, e.g. `preload-market-data export TSLA --out ./lake`');
    }
    if (v.out === undefined) throw new InvalidOptionError('out', undefined, 'export needs `out`, the directory to write, e.g. `--out ./lake`');
    const line = new ProgressLine(io.stderr, Boolean(v.json));
    const report = await exportBars(v.all ? 'all' : positionals, {
      ...windowOptions(v),
      out: v.out,
      ...(v.format !== undefined && { format: v.format as ExportFormat }),
      ...(v.partition !== undefined && { partition: v.partition as ExportPartition }),
      force: Boolean(v.force),
      signal: controller.signal,
      onProgress: (e: ExportEvent) => {
        line.onEvent(e);
        if (verbose && !v.json && e.type === 'export-file') line.say(`wrote ${e.path}: ${e.rows} rows, ${formatBytes(e.bytes)}`, err);
      },
    }).finally(() => line.stop());
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

/** Symbols named in the summary; past this many, a count and the first few. */
const LISTED = 10;

export function exportSummary(r: ExportReport): string {
  const lines = [
    r.files.length === 0
      ? `Nothing exported: no bars stored for ${r.empty.length === 0 ? 'any symbol' : listed(r.empty)} in this window (run \`preload-market-data <SYMBOL>\` first); ${r.out} is unchanged.`
      : `Exported ${listed(r.symbols)} (${r.interval}, adjust ${r.adjust}) to ${r.out}`,
    `  files:   ${r.files.length} ${r.format} (partition ${r.partition}), ${formatBytes(r.bytes)}`,
    `  rows:    ${r.rows}`,
    `  elapsed: ${formatDuration(r.elapsedMs)}`,
  ];
  if (r.files.length > 0 && r.empty.length > 0) lines.push(`  no bars stored for: ${listed(r.empty)}`);
  if (r.skipped.length > 0) lines.push(`  skipped (stored tickers that are not valid symbols): ${listed(r.skipped)}`);
  return lines.join('\n');
}

function listed(symbols: readonly string[]): string {
  if (symbols.length <= LISTED) return symbols.join(', ');
  return `${symbols.length} symbols (${symbols.slice(0, 3).join(', ')}, ...)`;
}

/** The live line on stderr, on a terminal only: symbols and rows read, then files written. */
class ProgressLine {
  readonly #stream: UiStream;
  readonly #on: boolean;
  #rows = 0;
  #drawnAt = 0;
  #drawn = false;

  constructor(stream: UiStream, json: boolean) {
    this.#stream = stream;
    this.#on = Boolean(stream.isTTY) && !json;
  }

  onEvent(e: ExportEvent): void {
    if (!this.#on) return;
    if (e.type === 'export-read') {
      this.#rows += e.rows;
      // A redraw per symbol would be thousands a second for day bars: at most ten a second.
      const now = performance.now();
      if (now - this.#drawnAt < 100 && e.symbolsDone < e.symbolsTotal) return;
      this.#drawnAt = now;
      this.#draw(`export: read ${e.symbolsDone}/${e.symbolsTotal} symbols, ${this.#rows} rows`);
    } else if (e.type === 'export-scan') {
      this.#rows += e.rows;
      const now = performance.now();
      if (now - this.#drawnAt < 100 && e.daysDone < e.daysTotal) return;
      this.#drawnAt = now;
      this.#draw(`export: read ${e.daysDone}/${e.daysTotal} days (${e.day}), ${this.#rows} rows`);
    } else {
      this.#draw(`export: ${this.#rows} rows read; wrote ${e.filesDone}/${e.filesTotal} files (${e.path})`);
    }
  }

  /** A line of its own, above the live one. */
  say(s: string, err: (s: string) => void): void {
    this.#clear();
    err(s);
  }

  stop(): void {
    this.#clear();
  }

  #draw(s: string): void {
    this.#stream.write(`\r\x1b[2K${s}`);
    this.#drawn = true;
  }

  #clear(): void {
    if (!this.#drawn) return;
    this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}
