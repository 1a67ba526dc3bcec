// Planning: which jobs a run has (one per dataset), each with its window of days. Options are
// already validated here (options.ts); symbols are resolved and checked (symbols.ts).
import type { Session } from './cache/aggregate.js';
import { addDays, addMonths, lastPublishedDay, todayUtc } from './dates.js';
import { InvalidOptionError } from './errors.js';
import type { Interval, Period, ResolvedOptions } from './options.js';
import { resolveSymbol, type AssetClass, type ResolvedSymbol } from './symbols.js';

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
}

export function jobId(dataset: string, interval: string, tickers: readonly string[]): string {
  return `${dataset}|${interval}|${[...tickers].sort().join(',')}`;
}

/** Resolves symbols and groups them by dataset, each group with its own window. */
export function planJobs(symbols: readonly string[], o: ResolvedOptions): JobPlan[] {
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
  const today = todayUtc(o.now);
  const published = lastPublishedDay(o.now);
  return [...byDataset].map(([dataset, resolved]) => {
    const assetClass = resolved[0]?.assetClass ?? 'stock';
    const end = o.end ?? today;
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
    };
  });
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

