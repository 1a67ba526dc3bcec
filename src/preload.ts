import { resolveOptions, type PreloadOptions, type ResolvedOptions } from './options.js';
import { planJobs, type JobPlan } from './plan.js';
import type { PreloadReport } from './run/report.js';
import { Run } from './run/run.js';
import { withStore } from './store/open.js';

export type { Failure, JobReport, PreloadReport } from './run/report.js';
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
  // The store first: a store that cannot be opened is one line, before anything else is said.
  return withStore(o, (store) => {
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
    return new Run(store, plans, o).execute(started);
  });
}
