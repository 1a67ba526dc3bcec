// `preload-market-data actions SYMBOL`: the stored splits and dividends of a symbol, each with the
// factor it applies, and when they were fetched (fetched first when older than a day and a key is set).
import { parseArgs } from 'node:util';
import { corporateActions, type CorporateActionsReport } from '../read/actions.js';
import { InvalidOptionError } from '../errors.js';

export const ACTIONS_USAGE = `Usage: preload-market-data actions <SYMBOL> [options]

List the stored splits and dividends of a stock, each with the factor it applies to the
bars before its date, and when they were fetched. With MASSIVE_API_KEY set, actions older
than a day are fetched again first.

Options:
  --refresh            fetch them now, whatever their age (needs MASSIVE_API_KEY)
  --json               one JSON object
  --api-endpoint URL   REST API base URL (env MASSIVE_API_URL, default https://api.massive.com)
  --cache-dir DIR      cache directory (env MARKET_DATA_CACHE_DIR)
  --store URL          a shared PostgreSQL store (env MARKET_DATA_STORE_URL)`;

/** Parses `actions` arguments and renders the symbol's actions; returns the lines to print. */
export async function actions(argv: string[]): Promise<{ lines: string[] }> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      refresh: { type: 'boolean' },
      json: { type: 'boolean' },
      'api-endpoint': { type: 'string' },
      'cache-dir': { type: 'string' },
      store: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return { lines: [ACTIONS_USAGE] };
  const [symbol, ...extra] = positionals;
  if (symbol === undefined || extra.length > 0) throw new InvalidOptionError('symbol', positionals, 'actions takes exactly one symbol, e.g. `preload-market-data actions TSLA`');
  const report = await corporateActions(symbol, {
    refresh: Boolean(v.refresh),
    ...(v['api-endpoint'] !== undefined && { apiEndpoint: v['api-endpoint'] }),
    ...(v['cache-dir'] !== undefined && { cacheDir: v['cache-dir'] }),
    ...(v.store !== undefined && { store: v.store }),
  });
  if (v.json) return { lines: [JSON.stringify(report)] };
  return { lines: renderActions(report) };
}

const fmt = (x: number | undefined): string => (x === undefined ? '-' : String(Number(x.toPrecision(6))));

export function renderActions(r: CorporateActionsReport): string[] {
  const lines = [`${r.symbol}: ${r.splits.length} split(s), ${r.dividends.length} dividend(s)${r.fetchedAt ? `, fetched ${r.fetchedAt}` : ''}`];
  if (r.splits.length > 0) {
    lines.push('splits (bars before the date: prices x factor, volume / factor)');
    lines.push(...table([
      ['execution date', 'ratio', 'type', 'factor', 'cumulative', "provider's"],
      ...r.splits.map((s) => [s.executionDate, `${fmt(s.splitTo)}-for-${fmt(s.splitFrom)}`, s.adjustmentType, fmt(s.factor), fmt(s.cumulative), fmt(s.historicalAdjustmentFactor ?? undefined)]),
    ]));
  }
  if (r.dividends.length > 0) {
    lines.push('dividends (bars before the ex-date, with --adjust total: prices x factor)');
    lines.push(...table([
      ['ex-date', 'cash', 'currency', 'type', 'factor', 'cumulative'],
      ...r.dividends.map((d) => [d.exDividendDate, fmt(d.cashAmount), d.currency ?? '', d.distributionType ?? '', fmt(d.factor), fmt(d.cumulative)]),
    ]));
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines;
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`);
}
