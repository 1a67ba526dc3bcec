// The progress functions of the public API: read, list and forget what the store records of jobs.
import { resolveOptions, type PreloadOptions } from './options.js';
import { planJobs } from './plan.js';
import { withStore } from './store/open.js';
import type { JobProgress, JobStatus } from './store/types.js';

type StoreOptions = Pick<PreloadOptions, 'cacheDir' | 'store'>;

/** What the progress store holds for the job of these symbols (as `preload` would group them). */
export async function getProgress(symbols: string | readonly string[], options?: StoreOptions & Pick<PreloadOptions, 'interval'>): Promise<JobProgress[]> {
  const o = resolveOptions(options);
  return withStore(o, async (store) => {
    const found = await Promise.all(planJobs(toArray(symbols), o).map((p) => store.getJob(p.job)));
    return found.filter((p): p is JobProgress => p !== undefined);
  });
}

/** Every job the progress store knows, most recently updated first. */
export async function listProgress(options?: StoreOptions): Promise<JobProgress[]> {
  return withStore(resolveOptions(options), (store) => store.listJobs());
}

/**
 * Every job with its files done, claimed, failed and left, and (on a shared store) the processes
 * working on it with their rate, and an ETA for the whole job.
 */
export async function jobStatus(options?: StoreOptions): Promise<JobStatus[]> {
  return withStore(resolveOptions(options), (store) => store.status());
}

/**
 * Forgets the progress of the job of these symbols, so the next run downloads every file again.
 * Cached bars are kept (a reload upserts them). Returns how many completed keys were forgotten.
 * @throws InvalidOptionError on a shared store while live processes work on the job (it names them).
 */
export async function clearProgress(symbols: string | readonly string[], options?: StoreOptions & Pick<PreloadOptions, 'interval'>): Promise<number> {
  const o = resolveOptions(options);
  return withStore(o, async (store) => {
    let n = 0;
    for (const p of planJobs(toArray(symbols), o)) n += await store.clearJob(p.job, p.symbols.map((s) => s.ticker), p.interval);
    return n;
  });
}

function toArray(symbols: string | readonly string[]): readonly string[] {
  return typeof symbols === 'string' ? [symbols] : symbols;
}
