// `preload-market-data actions SYMBOL`: the stored splits and dividends of a symbol, each with the
// factor it applies, and when they were fetched (fetched first when older than a day and a key is set).
import { corporateActions, type ActionsOptions, type CorporateActionsReport } from '../read/actions.js';
import { InvalidOptionError } from '../errors.js';
import { booleanFlag, type Context } from './context.js';
import { EXIT } from './exit.js';

export async function actionsCommand(ctx: Context): Promise<number> {
  const [symbol, ...extra] = ctx.line.positionals;
  if (symbol === undefined || extra.length > 0) throw new InvalidOptionError('symbol', ctx.line.positionals, 'actions takes exactly one symbol, e.g. `preload-market-data actions TSLA`');
  const report = await corporateActions(symbol, { ...(ctx.options as ActionsOptions), refresh: booleanFlag(ctx, 'refresh'), signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify(report));
  else for (const line of renderActions(report)) ctx.out(line);
  return EXIT.ok;
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
