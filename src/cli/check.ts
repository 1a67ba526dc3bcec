// `preload-market-data check (SYMBOL... | --all)`: what the store holds that looks wrong. Its flags
// and help: commands.ts; the kinds and thresholds: docs/data-quality.md.
import { checkStore } from '../check/check.js';
import type { CheckEvent, CheckOptions, CheckReport, Finding } from '../check/types.js';
import { InvalidOptionError } from '../errors.js';
import { booleanFlag, type Context } from './context.js';
import { EXIT } from './exit.js';
import { formatDuration } from './format.js';

/** Examples printed per kind; --json has them all. */
const EXAMPLES = 3;
/** Dates of one finding printed before "and N more". */
const DATES = 4;
/** Characters of a finding's evidence printed on its line. */
const EVIDENCE_CHARS = 240;
/** Cells of the live line's bar. */
const BAR_WIDTH = 20;

/** Runs `check` (symbols or --all). Exit 0 with nothing at warning or error level, EXIT.findings otherwise. */
export async function checkCommand(ctx: Context): Promise<number> {
  const { positionals } = ctx.line;
  const all = booleanFlag(ctx, 'all');
  if (all && positionals.length > 0) {
    throw new InvalidOptionError('all', positionals, `check takes symbols or --all, not both (got --all and ${positionals.join(' ')})`);
  }
  if (!all && positionals.length === 0) {
    throw new InvalidOptionError('symbols', positionals, 'check takes at least one symbol, or --all, e.g. `preload-market-data check --all`');
  }
  const line = new CheckLine(ctx.io.stderr, ctx.drawProgress);
  const report = await checkStore({
    ...(ctx.options as CheckOptions),
    ...(all ? { all: true } : { symbols: positionals }),
    signal: ctx.signal,
    onProgress: (e) => {
      ctx.emit(e);
      line.onEvent(e);
    },
  }).finally(() => line.stop());
  ctx.report(report);
  if (ctx.json) ctx.out(JSON.stringify(report));
  else if (!ctx.quiet) ctx.out(checkSummary(report));
  return report.counts.error + report.counts.warning > 0 ? EXIT.findings : EXIT.ok;
}

/** Findings grouped by kind (errors first), each kind with its count and first examples. */
export function checkSummary(r: CheckReport): string {
  const window = `${r.start ?? 'first stored day'}..${r.end}`;
  const { error, warning, info } = r.counts;
  const lines = [
    `Checked ${r.tickers} tickers, ${r.bars} ${r.interval} bars on ${r.days} days (${window}) in ${r.store}, ${formatDuration(r.elapsedMs)}`,
    `  ${error} error${error === 1 ? '' : 's'}, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info`,
  ];
  const byKind = new Map<string, Finding[]>();
  for (const f of r.findings) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  for (const [kind, list] of byKind) {
    lines.push('', `${list[0]?.severity ?? ''} ${kind}: ${list.length}`);
    for (const f of list.slice(0, EXAMPLES)) {
      lines.push(`  ${f.ticker} ${dates(f.dates)}: ${f.message}`, `    evidence: ${clip(JSON.stringify(f.evidence))}`);
    }
    if (list.length > EXAMPLES) lines.push(`  ... and ${list.length - EXAMPLES} more (--json lists them all)`);
  }
  if (r.findings.length === 0) lines.push('  nothing found');
  return lines.join('\n');
}

/** A bar of BAR_WIDTH cells filled to `share` (0..1). */
function bar(share: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
}

function dates(list: readonly string[]): string {
  if (list.length <= DATES) return list.join(', ');
  return `${list.slice(0, DATES).join(', ')} and ${list.length - DATES} more`;
}

function clip(s: string): string {
  return s.length <= EVIDENCE_CHARS ? s : `${s.slice(0, EVIDENCE_CHARS - 3)}...`;
}

/** The live line on stderr, on a terminal only: days (or symbols) read, of how many, and the bars. */
export class CheckLine {
  readonly #stream: Context['io']['stderr'];
  readonly #on: boolean;
  readonly #started = performance.now();
  #rows = 0;
  #drawnAt = 0;
  #drawn = false;

  constructor(stream: Context['io']['stderr'], draw: boolean) {
    this.#stream = stream;
    this.#on = draw && Boolean(stream.isTTY);
  }

  onEvent(e: CheckEvent): void {
    if (!this.#on) return;
    this.#rows += e.rows;
    const [done, total] = e.type === 'check-scan' ? [e.daysDone, e.daysTotal] : [e.symbolsDone, e.symbolsTotal];
    const last = done === total;
    // At most ten redraws a second.
    const now = performance.now();
    if (now - this.#drawnAt < 100 && !last) return;
    this.#drawnAt = now;
    const what = e.type === 'check-scan' ? `${done}/${total} days (${e.day})` : `${done}/${total} symbols (${e.symbol})`;
    const elapsed = now - this.#started;
    // Days are read at a steady pace: the time left is the time so far, scaled.
    const left = done > 0 && done < total ? `, ~${formatDuration((elapsed * (total - done)) / done)} left` : '';
    const text = `check: ${bar(done / Math.max(1, total))} read ${what}, ${this.#rows} bars${left}`;
    this.#stream.write(`\r\x1b[2K${text}`);
    this.#drawn = true;
  }

  stop(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}
