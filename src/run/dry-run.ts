// A dry run: the listing of a run and its sorting into skipped and needed (listing.ts), and the
// report, with nothing after it: no job prepared, no queue opened (no job row, no progress), no
// download, no coverage recorded, no REST call. A store that does not exist yet is not created.
import { join } from 'node:path';
import { AbortedError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { JobPlan } from '../plan.js';
import { resolveCredentials, type S3Config } from '../s3/client.js';
import { releaseCredentials } from '../s3/credentials.js';
import { createListObjects } from '../s3/list-objects.js';
import type { Store } from '../store/types.js';
import { jobSpec, Jobs } from './jobs.js';
import { Listing } from './listing.js';
import { buildReport, type DryRunJob, type PreloadReport } from './report.js';
import { startRateLimit } from './shared.js';
import { RunStats } from './stats.js';

/** What a dry run reads of the store: what is done, and the bars held (for the report). */
export type DryRunStore = Pick<Store, 'doneKeys' | 'ingestedDays' | 'barRange'>;

/** Stands in for a store that does not exist yet: nothing done, nothing held. */
export const EMPTY_STORE: DryRunStore = {
  doneKeys: () => Promise.resolve(new Map()),
  ingestedDays: () => Promise.resolve(new Map()),
  barRange: () => Promise.resolve(undefined),
};

/**
 * Lists every job's window and sorts each file into skipped (done, same ETag) or to download, as
 * a run would; the report has `files.listed`, `files.skipped`, `dryRun: true` and `wouldDownload`.
 */
export async function dryRun(held: DryRunStore, plans: readonly JobPlan[], o: ResolvedOptions, started: number): Promise<PreloadReport> {
  const store = o.clearProgress ? afterClear(held, plans) : held;
  const stats = new RunStats();
  const counts = new Map(plans.map((p) => [p.job, { listed: 0, skipped: 0, files: 0, bytes: 0 }]));
  const listing = new Listing({
    jobs: new Jobs(plans),
    store,
    stats,
    schedule: (spec, needed, page) => {
      const j = counts.get(spec.job);
      if (j) {
        j.listed += page.listed;
        j.skipped += page.skipped;
        j.files += needed.length;
        j.bytes += needed.reduce((sum, f) => sum + f.size, 0);
      }
      return Promise.resolve();
    },
  });
  const signal = o.signal ?? new AbortController().signal;
  if (o.offline) await listing.fromMirror(join(o.cacheDir, 'raw'));
  else {
    const config: S3Config = { endpoint: o.endpoint, bucket: o.bucket, region: o.region, credentials: await resolveCredentials(o.credentials, o.endpoint) };
    // The cap of requests a second holds for this process; a shared store's slots are not asked
    // for (that is a write), so there is no slot feed whose error to hear.
    const { rateLimit, stop } = startRateLimit(o.maxRps, { rateSlots: undefined }, () => {});
    try {
      await listing.fromBucket(createListObjects(config, { rateLimit, timeoutMs: o.timeoutMs }), o.bucket, signal);
    } finally {
      stop();
      releaseCredentials(config.credentials);
    }
  }
  if (signal.aborted) throw new AbortedError('Interrupted: a dry run records nothing; run it again');
  const report = await buildReport({ plans, starts: listing.starts, store, stats, interval: o.interval, started, job: undefined });
  const jobs = plans.map(
    (p): DryRunJob => ({
      symbols: p.all ? [] : p.symbols.map((s) => s.symbol),
      all: p.all,
      dataset: p.dataset,
      start: listing.starts.get(p) ?? p.start ?? p.end,
      end: p.end,
      ...(counts.get(p.job) ?? { listed: 0, skipped: 0, files: 0, bytes: 0 }),
    }),
  );
  return {
    ...report,
    dryRun: true,
    wouldDownload: { files: jobs.reduce((n, j) => n + j.files, 0), bytes: jobs.reduce((n, j) => n + j.bytes, 0), jobs },
  };
}

/** The store as a run with `clearProgress` would see it once it cleared its jobs (store.clearJob): no done key, no ingested day of their tickers. */
function afterClear(store: DryRunStore, plans: readonly JobPlan[]): DryRunStore {
  const cleared = new Set(plans.flatMap((p) => jobSpec(p).tickers));
  return {
    doneKeys: () => Promise.resolve(new Map()),
    ingestedDays: (symbol, ...rest) => (cleared.has(symbol) ? Promise.resolve(new Map()) : store.ingestedDays(symbol, ...rest)),
    barRange: (...args) => store.barRange(...args),
  };
}
