import { parseArgs } from 'node:util';
import type { Bar } from '../types.js';
import { InvalidOptionError } from '../errors.js';
import { readBars } from '../read/read-bars.js';
import { WINDOW_FLAGS, windowOptions } from './flags.js';

export const SHOW_USAGE = `Usage: preload-market-data show <SYMBOL> [options]

Print bars already in the cache; never touches the network.

Options:
  --last N             only the last N bars
  --format F           table (default), csv or jsonl
  --period P | --start YYYY-MM-DD [--end YYYY-MM-DD]
                       window (default: everything cached)
  --interval I         1m|5m|15m|30m|1h|1d (intraday built from stored minutes)
  --session S          regular (09:30-16:00 New York) or extended (default)
  --adjust A           splits (default: split-adjusted), total (splits and dividends)
                       or none (as traded); from the stored corporate actions
  --dataset PREFIX     as for preloading
  --cache-dir DIR      cache directory (env MARKET_DATA_CACHE_DIR)
  --store URL          read a shared PostgreSQL store instead (env MARKET_DATA_STORE_URL)`;

const FORMATS = ['table', 'csv', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

/** Parses `show` arguments and renders the cached bars; returns the lines to print. */
export async function show(argv: string[]): Promise<{ lines: string[]; empty: boolean; help: boolean }> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...WINDOW_FLAGS,
      last: { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return { lines: [SHOW_USAGE], empty: false, help: true };
  const [symbol, ...extra] = positionals;
  if (symbol === undefined || extra.length > 0) throw new InvalidOptionError('symbol', positionals, 'show takes exactly one symbol, e.g. `preload-market-data show TSLA --last 5`');
  const format = (v.format ?? 'table') as Format;
  if (!FORMATS.includes(format)) throw new InvalidOptionError('format', v.format, `Expected \`format\` to be one of ${FORMATS.join(', ')}, got \`${v.format}\``);
  const last = v.last === undefined ? undefined : Number(v.last);
  if (last !== undefined && (!Number.isInteger(last) || last < 1)) throw new InvalidOptionError('last', v.last, `Expected \`last\` to be a positive integer, got \`${v.last}\``);
  // With no window given, everything cached.
  const options = windowOptions({ ...v, ...(v.start === undefined && v.period === undefined && { period: 'max' }) });
  const all = await readBars(symbol, options);
  const bars = last === undefined ? all : all.slice(-last);
  return { lines: render(bars, format), empty: bars.length === 0, help: false };
}

const COLUMNS = ['time', 'open', 'high', 'low', 'close', 'volume', 'transactions'] as const;

function cells(b: Bar): string[] {
  return [new Date(b.time).toISOString(), ...COLUMNS.slice(1).map((c) => String(b[c] ?? ''))];
}

export function render(bars: Bar[], format: Format): string[] {
  switch (format) {
    case 'jsonl':
      return bars.map((b) => JSON.stringify(b));
    case 'csv':
      return [COLUMNS.join(','), ...bars.map((b) => cells(b).join(','))];
    case 'table': {
      const rows = [[...COLUMNS], ...bars.map(cells)];
      const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
    }
  }
}
