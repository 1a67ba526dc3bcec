// `preload-market-data actions SYMBOL`: the stored splits and dividends of a symbol, each with the
// factor it applies, and when they were fetched (fetched first when older than a day and a key is set).
// `actions --all`: the whole market's, fetched now in one listing of each kind and stored.
import { corporateActions, type ActionsOptions, type CorporateActionsReport } from '../read/actions.js';
import { fetchAllCorporateActions, type AllActionsEvent, type AllActionsReport } from '../read/actions-all.js';
import { InvalidOptionError } from '../errors.js';
import { booleanFlag, type Context } from './context.js';
import { EXIT } from './exit.js';

export async function actionsCommand(ctx: Context): Promise<number> {
  if (booleanFlag(ctx, 'all')) return actionsAll(ctx);
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

async function actionsAll(ctx: Context): Promise<number> {
  const symbols = ctx.line.positionals;
  if (symbols.length > 0) throw new InvalidOptionError('all', symbols, `actions --all takes no symbol (it fetches every ticker's), got \`${symbols.join(' ')}\``);
  const tty = ctx.io.stderr.isTTY === true;
  const read = new Map<string, AllActionsEvent>();
  let drawn = false;
  const onProgress = (e: AllActionsEvent): void => {
    read.set(e.listing, e);
    if (!ctx.drawProgress) return;
    const line = progressLine([...read.values()]);
    // A terminal sees one line redrawn; a log a line every 20 pages.
    if (tty) {
      ctx.io.stderr.write(`\r${line}\x1b[K`);
      drawn = true;
    } else if (e.pages % 20 === 0) ctx.err(line);
  };
  let report: AllActionsReport;
  try {
    report = await fetchAllCorporateActions({ ...(ctx.options as ActionsOptions), signal: ctx.signal, onProgress });
  } finally {
    if (drawn) ctx.io.stderr.write('\n');
  }
  ctx.report(report);
  if (ctx.json) ctx.out(JSON.stringify(report));
  else if (!ctx.quiet) ctx.out(renderAll(report));
  return EXIT.ok;
}

/** `actions --all: splits 5000 rows (1 page), dividends 15000 rows (3 pages)`: each listing read so far. */
export function progressLine(read: readonly AllActionsEvent[]): string {
  return `actions --all: ${read.map((e) => `${e.listing} ${e.rows} rows (${e.pages} page${e.pages === 1 ? '' : 's'})`).join(', ')}`;
}

export function renderAll(r: AllActionsReport): string {
  return `whole market: ${r.splits} splits, ${r.dividends} dividends of ${r.tickers} tickers stored, fetched ${r.fetchedAt}; every other stock ticker has none`;
}
