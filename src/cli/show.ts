// `preload-market-data show SYMBOL`: the bars the store holds, never downloaded. The table is for
// reading (prices rounded); csv, jsonl and --json are for machines (full precision).
import type { Bar } from '../types.js';
import { InvalidOptionError } from '../errors.js';
import type { ReadOptions } from '../read/read-bars.js';
import { readBars } from '../read/read-bars.js';
import { SHOW_FORMATS } from './commands.js';
import { stringFlag, type Context } from './context.js';
import { EXIT } from './exit.js';
import { UsageError } from './parse.js';

type Format = (typeof SHOW_FORMATS)[number];

export async function showCommand(ctx: Context): Promise<number> {
  const [symbol, ...extra] = ctx.line.positionals;
  if (symbol === undefined || extra.length > 0) throw new InvalidOptionError('symbol', ctx.line.positionals, 'show takes exactly one symbol, e.g. `preload-market-data show TSLA --last 5`');
  const given = stringFlag(ctx, 'format');
  if (ctx.json && given !== undefined) throw new UsageError('use either --json or --format, not both');
  const format = (given ?? SHOW_FORMATS[0]) as Format;
  if (!SHOW_FORMATS.includes(format)) throw new InvalidOptionError('format', given, `Expected \`format\` to be one of ${SHOW_FORMATS.join(', ')}, got \`${given}\``);
  const lastText = stringFlag(ctx, 'last');
  const last = lastText === undefined ? undefined : Number(lastText);
  if (last !== undefined && (!Number.isInteger(last) || last < 1)) throw new InvalidOptionError('last', lastText, `Expected \`last\` to be a positive integer, got \`${lastText}\``);
  const options = ctx.options as ReadOptions;
  // With no window given, everything stored.
  const all = await readBars(symbol, options.start === undefined && options.period === undefined ? { ...options, period: 'max' } : options);
  const bars = last === undefined ? all : all.slice(-last);
  const lines = ctx.json ? [JSON.stringify({ bars })] : render(bars, format);
  for (const line of lines) ctx.out(line);
  if (bars.length === 0 && !ctx.quiet) ctx.err('No bars cached for this window: run `preload-market-data <SYMBOL>` first.');
  return EXIT.ok;
}

const COLUMNS = ['time', 'open', 'high', 'low', 'close', 'volume', 'transactions'] as const;

/** Every value as stored: for csv, where a reader wants the exact number. */
function cells(b: Bar): string[] {
  return [new Date(b.time).toISOString(), ...COLUMNS.slice(1).map((c) => String(b[c] ?? ''))];
}

/**
 * A number for reading: at most 4 decimals, as the provider rounds its adjusted prices
 * (214.31333333333333 -> 214.3133); whole numbers stay whole. A value below 1 keeps 4
 * significant digits instead, so a sub-cent price (crypto, forex) does not read as 0.
 */
export function readable(x: number): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  const rounded = Number(x.toFixed(4));
  if (Math.abs(x) >= 1 || Math.abs(rounded) >= 0.1) return String(rounded);
  return String(Number(x.toPrecision(4)));
}

function tableCells(b: Bar): string[] {
  return [new Date(b.time).toISOString(), ...COLUMNS.slice(1).map((c) => (b[c] === null || b[c] === undefined ? '' : readable(b[c])))];
}

export function render(bars: Bar[], format: Format): string[] {
  switch (format) {
    case 'jsonl':
      return bars.map((b) => JSON.stringify(b));
    case 'csv':
      return [COLUMNS.join(','), ...bars.map((b) => cells(b).join(','))];
    case 'table': {
      const rows = [[...COLUMNS], ...bars.map(tableCells)];
      const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
    }
  }
}
