// `preload-market-data export (SYMBOL... | --all) --out DIR`: the stored bars as a Parquet or CSV lake.
// Its flags and help: commands.ts.
import { InvalidOptionError } from '../errors.js';
import { exportBars } from '../export/export.js';
import type { ExportEvent, ExportOptions, ExportReport } from '../export/types.js';
import { booleanFlag, type Context } from './context.js';
import { EXIT } from './exit.js';
import { formatBytes, formatDuration } from './format.js';
import type { UiStream } from './progress-ui.js';

/** Runs `export` (symbols or --all, --out DIR). */
export async function exportCommand(ctx: Context): Promise<number> {
  const { positionals } = ctx.line;
  const all = booleanFlag(ctx, 'all');
  if (all && positionals.length > 0) {
    throw new InvalidOptionError('all', positionals, `export takes symbols or --all, not both (got --all and ${positionals.join(' ')})`);
  }
  if (!all && positionals.length === 0) {
    throw new InvalidOptionError('symbols', positionals, 'export takes at least one symbol, or --all, e.g. `preload-market-data export TSLA --out ./lake`');
  }
  const options = ctx.options as Partial<ExportOptions>;
  if (options.out === undefined) throw new InvalidOptionError('out', undefined, 'export needs `out`, the directory to write, e.g. `--out ./lake`');
  const line = new ProgressLine(ctx.io.stderr, !ctx.drawProgress);
  const report = await exportBars(all ? 'all' : positionals, {
    ...options,
    out: options.out,
    signal: ctx.signal,
    onProgress: (e: ExportEvent) => {
      ctx.emit(e);
      line.onEvent(e);
      if (ctx.verbose && !ctx.json && e.type === 'export-file') line.say(`wrote ${e.path}: ${e.rows} rows, ${formatBytes(e.bytes)}`, ctx.err);
    },
  }).finally(() => line.stop());
  ctx.report(report);
  if (ctx.json) ctx.out(JSON.stringify(report));
  else if (!ctx.quiet) ctx.out(exportSummary(report));
  return EXIT.ok;
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

  constructor(stream: UiStream, silent: boolean) {
    this.#stream = stream;
    this.#on = Boolean(stream.isTTY) && !silent;
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
