// What a run does beyond its own files when the store is shared by several processes: it follows
// the whole job's counts (for the progress events, the report and coverage), and it takes its
// requests under one `--max-rps` cap granted by the store to every process on the job.
import { createRateLimit, startSlotFeed, type RateLimit } from '../s3/rate-limit.js';
import type { ProcessInfo, WorkQueue } from '../store/types.js';
import type { JobCounts } from '../types.js';
import type { JobReport } from './report.js';

/** How often a shared store's whole-job counts are refreshed for the progress events. */
const JOB_COUNTS_MS = 1_000;

/** The whole job across every process on a shared store, as far as this process has seen it. */
export class JobWatch {
  #counts: JobCounts | undefined;
  #processes: ProcessInfo[] = [];

  /** The latest whole-job counts; undefined until first read (and always for the local queue). */
  get counts(): JobCounts | undefined {
    return this.#counts;
  }

  /** Refreshes the counts every `everyMs` and calls `onCounts` after each refresh. Returns a stop function. */
  watch(queue: Pick<WorkQueue, 'counts'>, onCounts: () => void, everyMs = JOB_COUNTS_MS): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      queue
        .counts()
        .then((counts) => {
          this.#counts = counts;
          onCounts();
        })
        .catch(() => undefined) // a real outage surfaces through the claims and commits
        .finally(() => (busy = false));
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Reads the final counts and the processes that took part, before this process's part ends. */
  async final(queue: Pick<WorkQueue, 'counts' | 'processes'>): Promise<void> {
    this.#counts = await queue.counts();
    this.#processes = await queue.processes();
  }

  /** The report's `job` field: for a shared store (a `processId`) whose counts were read, else undefined. */
  report(processId: number | undefined): JobReport | undefined {
    if (processId === undefined || this.#counts === undefined) return undefined;
    return { ...this.#counts, processId, processes: this.#processes };
  }
}

/**
 * `--max-rps`: this process's own cap, or, on a store that shares one (`rateSlots`), slots granted
 * by the store to every process on the job, taken in small batches by a feed on this thread. A
 * grant that fails means the store is gone: `onError` hears it (the run stops rather than wait).
 */
export function startRateLimit(
  rps: number | undefined,
  queue: Pick<WorkQueue, 'rateSlots'>,
  onError: (error: unknown) => void,
): { rateLimit: RateLimit | undefined; stop: () => void } {
  if (rps === undefined) return { rateLimit: undefined, stop: () => undefined };
  const grant = queue.rateSlots;
  const rateLimit = createRateLimit(rps, { shared: grant !== undefined });
  if (grant === undefined) return { rateLimit, stop: () => undefined };
  const feed = startSlotFeed(rateLimit, (n) => grant(rps, n), { onError });
  return { rateLimit, stop: () => feed.stop() };
}
