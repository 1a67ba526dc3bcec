// Coverage: once every listed day of a job's window is ingested, the window is recorded complete
// for each of its symbols, so a later read of it needs no listing.
import type { JobPlan } from '../plan.js';
import type { Store } from '../store/types.js';

export interface CoverageInput {
  plans: readonly JobPlan[];
  /** The first day each job's listing started from; a job never listed has none and is skipped. */
  starts: ReadonlyMap<JobPlan, string>;
  /** Jobs with a file that failed in this run. */
  failedJobs: ReadonlySet<string>;
  /** Files of the run's jobs failed by any process (a shared store's whole-job count), if known. */
  failedByAnyone: number | undefined;
}

/**
 * Records the window [start, publishedEnd] of each job that had no failed file as complete for
 * its symbols. Call it only after a run that listed everything and was not aborted, and not
 * offline (the mirror is not the calendar: a missing day cannot be told from a holiday).
 */
export async function recordCoverage(store: Pick<Store, 'addCoverage'>, input: CoverageInput): Promise<void> {
  // On a shared store another process may have failed a file of the job: not complete then.
  if ((input.failedByAnyone ?? 0) > 0) return;
  for (const plan of input.plans) {
    const start = input.starts.get(plan);
    if (start === undefined || input.failedJobs.has(plan.job) || plan.publishedEnd < start) continue;
    for (const s of plan.symbols) await store.addCoverage(s.ticker, plan.interval, start, plan.publishedEnd);
  }
}
