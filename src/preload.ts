import { hasActions, NO_KEY_ALL_NOTE, NO_KEY_NOTE, refreshActions, refreshAllActions } from './actions/refresh.js';
import { resolveOptions, type PreloadOptions, type ResolvedOptions } from './options.js';
import { planJobs, type JobPlan } from './plan.js';
import { dryRun, EMPTY_STORE } from './run/dry-run.js';
import type { PreloadReport } from './run/report.js';
import { Run } from './run/run.js';
import { withExistingStore, withStore } from './store/open.js';
import type { Store } from './store/types.js';

export type { DryRunJob, DuplicateFile, Failure, JobReport, MisdatedFile, OutsideSessionFile, PreloadReport } from './run/report.js';
export { PreloadAbortedError } from './run/run.js';

/**
 * Downloads the day files covering `symbols` and merges their bars into the store. Resumes
 * where an earlier run of the same job stopped; `clearProgress` starts over. With a shared
 * `store` (PostgreSQL), several processes on several machines share the job: each file is
 * downloaded by one of them, and each runs until the whole job is done.
 *
 * @example
 * const report = await preload(['TSLA', 'AAPL'], { period: '1y', onProgress: (e) => console.log(e) });
 * @throws InvalidOptionError on bad options, ConfigurationError when credentials or the cache
 * directory are unusable, StoreError when the store cannot be reached, NotEntitledError on a
 * 403, PreloadAbortedError (with `.report`) when `signal` aborts.
 */
export async function preload(symbols: string | readonly string[], options?: PreloadOptions): Promise<PreloadReport> {
  const o = resolveOptions(options);
  const plans = planJobs(typeof symbols === 'string' ? [symbols] : symbols, o);
  return runPlans(plans, o);
}

export async function runPlans(plans: JobPlan[], o: ResolvedOptions): Promise<PreloadReport> {
  const started = performance.now();
  // Listing and planning only: no store created, no job row, no REST call.
  if (o.dryRun) return withExistingStore(o, (store) => dryRun(store ?? EMPTY_STORE, plans, o, started));
  // The store first: a store that cannot be opened is one line, before anything else is said.
  return withStore(o, async (store) => {
    o.onProgress?.({
      type: 'plan',
      jobs: plans.map((p) => ({
        symbols: p.symbols.map(({ symbol, ticker, assetClass }) => ({ symbol, ticker, assetClass })),
        dataset: p.dataset,
        start: p.start,
        end: p.end,
        period: p.period,
        defaultPeriod: p.defaultPeriod,
      })),
    });
    // Before any download: a refused REST key is one line and exit 2, as a refused S3 pair is.
    const notes = await prepareActions(store, plans, o);
    const report = await new Run(store, plans, o).execute(started);
    report.notes.push(...notes);
    return report;
  });
}

/**
 * Fetches the corporate actions of the run's stock tickers that were never fetched or are older
 * than a day, in one paged request; for an `--all` run of stocks, the whole market's in one
 * listing of each kind. Without a key (or offline) nothing is fetched, and a note says what
 * adjusted reads need.
 */
async function prepareActions(store: Store, plans: readonly JobPlan[], o: ResolvedOptions): Promise<string[]> {
  if (o.offline) return [];
  const notes: string[] = [];
  if (plans.some((p) => hasActions(p.dataset) && p.all)) {
    const { stored, missing } = await refreshAllActions(store, o);
    if (missing) notes.push(NO_KEY_ALL_NOTE);
    if (stored) notes.push(`fetched the whole market's corporate actions: ${stored.splits} splits, ${stored.dividends} dividends of ${stored.tickers} tickers`);
  }
  const tickers = plans.filter((p) => hasActions(p.dataset) && !p.all).flatMap((p) => p.symbols.map((s) => s.ticker));
  if (tickers.length === 0) return notes;
  const { missing } = await refreshActions(store, tickers, o);
  return missing.length > 0 ? [...notes, NO_KEY_NOTE] : notes;
}
