// `export --all`: the plans that read every ticker the store holds. Tickers are read as stored:
// each is given the dataset its prefix names (`X:` crypto, `C:` forex, `I:` indices, `O:`
// options, none: stocks), never re-resolved from what a user would type, so a file's spelling
// the symbol parser would not accept as input (`X:BTCUSD`) is still exported.
import { InvalidOptionError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { planJobs, type JobPlan } from '../plan.js';
import { tickerPrefix } from '../store/scope.js';
import { DATASETS, resolveSymbol } from '../symbols.js';

/** What `--all` reads: one plan per dataset, and the stored tickers it cannot read (with why). */
export interface StoredPlans {
  plans: JobPlan[];
  skipped: string[];
}

const BY_PREFIX = new Map(Object.values(DATASETS).map((d) => [tickerPrefix(d), d]));

/**
 * Plans over `tickers` (from `Store.listSymbols`), grouped by the dataset each ticker's prefix
 * names, or only those of `o.dataset` when one is given. Intraday intervals read the minute
 * datasets. A ticker that cannot be a symbol at all (characters the symbol check refuses) is
 * skipped, not fatal.
 */
export function planStored(tickers: readonly string[], o: ResolvedOptions): StoredPlans {
  const byDataset = new Map<string, string[]>();
  const skipped: string[] = [];
  const only = o.dataset === undefined ? undefined : tickerPrefix(o.dataset);
  for (const ticker of tickers) {
    const prefix = /^[A-Z]:/.exec(ticker)?.[0];
    const known = prefix !== undefined && BY_PREFIX.has(prefix) ? prefix : undefined;
    if (o.dataset !== undefined && known !== only) continue;
    const day = o.dataset ?? BY_PREFIX.get(known) ?? DATASETS.stock;
    const dataset = o.interval === '1d' || o.dataset !== undefined ? day : day.replace(/\/day_aggs_v1$/, '/minute_aggs_v1');
    if (!readable(ticker, dataset)) {
      skipped.push(ticker);
      continue;
    }
    const list = byDataset.get(dataset) ?? [];
    list.push(ticker);
    byDataset.set(dataset, list);
  }
  // With the dataset given, planJobs takes each ticker as typed: as stored.
  const plans = [...byDataset].flatMap(([dataset, list]) => planJobs(list, { ...o, dataset }));
  return { plans, skipped };
}

/** True when `ticker` is taken as itself by the symbol check (nothing upper-cased or refused). */
function readable(ticker: string, dataset: string): boolean {
  try {
    return resolveSymbol(ticker, dataset).ticker === ticker;
  } catch (error) {
    if (error instanceof InvalidOptionError) return false;
    throw error;
  }
}
