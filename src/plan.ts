// Planning: which jobs a run has (one per dataset), each with its window of days. Options are
// already validated here (options.ts); symbols are resolved and checked (symbols.ts).
import { addDays, addMonths, lastPublishedDay, todayUtc, type Session } from './market-time.js';
import { InvalidOptionError } from './errors.js';
import type { Interval, Period, ResolvedOptions } from './options.js';
import { allScope } from './store/scope.js';
import { DATASETS, resolveSymbol, type AssetClass, type ResolvedSymbol } from './symbols.js';

const DEFAULT_PERIOD: Record<AssetClass, Period> = { stock: '5y', index: '5y', crypto: '2y', forex: '2y', option: '1y' };
/** A minute file holds tens of MB: intraday windows default to a month, whatever the asset. */
const INTRADAY_PERIOD: Period = '1mo';

/** One dataset's share of a run: the tickers it holds and the window of days to cover. */
export interface JobPlan {
  /** Progress-store job id: dataset, stored interval and the sorted tickers. */
  job: string;
  dataset: string;
  /** What is downloaded and stored: `1d`, or `1m` for every intraday interval. */
  interval: '1d' | '1m';
  /** What the caller reads: the stored bars, or intraday bars aggregated from stored minutes. */
  barInterval: Interval;
  session: Session;
  symbols: ResolvedSymbol[];
  /** First day of the window, or undefined for `max` (found from the listing). */
  start: string | undefined;
  end: string;
  /** Last day whose file should exist by now: coverage is recorded up to here, not past it. */
  publishedEnd: string;
  period: Period | undefined;
  /** True when the period was chosen from the asset class, not by the caller. */
  defaultPeriod: boolean;
  /**
   * Every row of every file (`--all`): `symbols` is then the one scope of the dataset
   * (`allScope`, symbol `*`) under which its days and coverage are recorded.
   */
  all: boolean;
}

export function jobId(dataset: string, interval: string, tickers: readonly string[]): string {
  return `${dataset}|${interval}|${[...tickers].sort().join(',')}`;
}

/** Resolves symbols and groups them by dataset, each group with its own window. */
export function planJobs(symbols: readonly string[], o: ResolvedOptions): JobPlan[] {
  if (o.all) {
    if (symbols.length > 0) throw new InvalidOptionError('all', true, `\`all\` takes every ticker of the files: give no symbols with it, got ${symbols.slice(0, 3).join(', ')}`);
    return [planAll(o)];
  }
  if (symbols.length === 0) throw new InvalidOptionError('symbols', symbols, 'Expected at least one symbol, got none');
  const byDataset = new Map<string, ResolvedSymbol[]>();
  const intraday = o.interval !== '1d';
  for (const s of symbols) {
    const day = resolveSymbol(s, o.dataset);
    // Intraday bars come from the minute files of the same asset class.
    const r = intraday && o.dataset === undefined ? { ...day, dataset: day.dataset.replace(/\/day_aggs_v1$/, '/minute_aggs_v1') } : day;
    const list = byDataset.get(r.dataset) ?? [];
    if (!list.some((x) => x.ticker === r.ticker)) list.push(r);
    byDataset.set(r.dataset, list);
  }
  return [...byDataset].map(([dataset, resolved]) => planOf(dataset, intraday, resolved, o));
}

function planOf(dataset: string, intraday: boolean, resolved: ResolvedSymbol[], o: ResolvedOptions, all = false): JobPlan {
  const assetClass = resolved[0]?.assetClass ?? 'stock';
  const end = o.end ?? todayUtc(o.now);
  const published = lastPublishedDay(o.now);
  const period = o.start === undefined ? (o.period ?? (intraday ? INTRADAY_PERIOD : DEFAULT_PERIOD[assetClass])) : undefined;
  const start = o.start ?? (period === undefined ? undefined : periodStart(period, end));
  return {
    job: jobId(dataset, intraday ? '1m' : '1d', resolved.map((r) => r.ticker)),
    dataset,
    interval: intraday ? '1m' : '1d',
    barInterval: o.interval,
    session: o.session,
    symbols: resolved,
    start,
    end,
    publishedEnd: published < end ? published : end,
    period,
    defaultPeriod: o.start === undefined && o.period === undefined,
    all,
  };
}

/** The aggregate datasets an `--all` run can store as bars: day and minute files of every asset class. */
export const ALL_DATASETS: readonly string[] = Object.values(DATASETS).flatMap((d) => [d, d.replace(/\/day_aggs_v1$/, '/minute_aggs_v1')]);

/** The one job of an `--all` run: every ticker of the dataset's files. */
function planAll(o: ResolvedOptions): JobPlan {
  const dataset = o.dataset ?? (o.interval === '1d' ? DATASETS.stock : DATASETS.stock.replace(/\/day_aggs_v1$/, '/minute_aggs_v1'));
  if (!ALL_DATASETS.includes(dataset)) {
    throw new InvalidOptionError('dataset', dataset, `Expected \`dataset\` with \`all\` to be one of the aggregate datasets (${ALL_DATASETS.join(', ')}), got \`${dataset}\``);
  }
  const intraday = dataset.endsWith('/minute_aggs_v1');
  if (!intraday && o.interval !== '1d') {
    throw new InvalidOptionError('interval', o.interval, `Expected \`interval\` 1d for the day aggregates ${dataset}, got \`${o.interval}\` (intraday bars come from minute_aggs_v1)`);
  }
  const assetClass = (Object.entries(DATASETS) as Array<[AssetClass, string]>).find(([, d]) => d.split('/')[0] === dataset.split('/')[0])?.[0] ?? 'stock';
  const scope: ResolvedSymbol = { symbol: '*', ticker: allScope(dataset), assetClass, dataset };
  // Minute files read as 1m bars when no intraday interval was asked for.
  return planOf(dataset, intraday, [scope], { ...o, interval: intraday && o.interval === '1d' ? '1m' : o.interval }, true);
}

/** First day of a period ending on `end` (inclusive); undefined for `max`. */
export function periodStart(period: Period, end: string): string | undefined {
  switch (period) {
    case 'max':
      return undefined;
    case 'ytd':
      return `${end.slice(0, 4)}-01-01`;
    default: {
      const n = Number.parseInt(period, 10);
      const months = period.endsWith('mo') ? n : n * 12;
      // The day after `end - period`, so that '1y' is 365 or 366 days including both ends.
      return addDays(addMonths(end, -months), 1);
    }
  }
}

