// Coverage: once every listed day of a job's window is ingested, the window is recorded complete
// for each of its symbols, so a later read of it needs no listing. Its tail is what the listing
// showed, not what the clock expected: the provider says to check for the file, and files do come
// late, so a day after the last listed file is covered only when the dataset never has a file on
// it (a weekend for stocks), and a late file is fetched by the next run.
import { addDays } from '../market-time.js';
import type { JobPlan } from '../plan.js';
import type { Store } from '../store/types.js';

export interface CoverageInput {
  plans: readonly JobPlan[];
  /** The first day each job's listing started from; a job never listed has none and is skipped. */
  starts: ReadonlyMap<JobPlan, string>;
  /** The last day each job's listing showed a file for (its window's end when it showed a later file); none: no file. */
  lastListed: ReadonlyMap<JobPlan, string>;
  /** Jobs with a file that failed in this run. */
  failedJobs: ReadonlySet<string>;
  /** Files of the run's jobs failed by any process (a shared store's whole-job count), if known. */
  failedByAnyone: number | undefined;
}

/**
 * Records the window [start, end] of each job that had no failed file as complete for its
 * symbols, `end` from {@link coveredThrough}. Call it only after a run that listed everything and was not aborted, and not
 * offline (the mirror is not the calendar: a missing day cannot be told from a holiday).
 */
export async function recordCoverage(store: Pick<Store, 'addCoverage'>, input: CoverageInput): Promise<void> {
  // On a shared store another process may have failed a file of the job: not complete then.
  if ((input.failedByAnyone ?? 0) > 0) return;
  for (const plan of input.plans) {
    const start = input.starts.get(plan);
    if (start === undefined || input.failedJobs.has(plan.job)) continue;
    const end = coveredThrough(plan.dataset, start, input.lastListed.get(plan), plan.publishedEnd);
    if (end < start) continue;
    for (const s of plan.symbols) await store.addCoverage(s.ticker, plan.interval, start, end);
  }
}

/**
 * The last day of a window known complete from its listing: the last day a file was listed for,
 * then the days after it on which the dataset never has a file (Saturdays and Sundays for stocks,
 * options and indices; Saturdays for forex; none for crypto), up to `publishedEnd`. A day that
 * could have a file and had none listed (a holiday, or a file not published yet) is not covered,
 * unless a later file was listed (then `lastListed` is the window's end: listing.ts).
 */
export function coveredThrough(dataset: string, start: string, lastListed: string | undefined, publishedEnd: string): string {
  const closed = closedWeekdays(dataset);
  let end = lastListed ?? addDays(start, -1);
  for (let next = addDays(end, 1); next <= publishedEnd && closed.has(new Date(`${next}T00:00:00Z`).getUTCDay()); next = addDays(next, 1)) end = next;
  return end < publishedEnd ? end : publishedEnd;
}

/** Days of the week (0 = Sunday) on which the dataset publishes no file. */
function closedWeekdays(dataset: string): ReadonlySet<number> {
  if (dataset.startsWith('global_crypto/')) return new Set();
  if (dataset.startsWith('global_forex/')) return new Set([6]);
  return new Set([0, 6]);
}
