// One run, wired from small parts: the store's work queue (which files are this process's), the
// listing (listing.ts), the claim/idle state machine (claims.ts), the download of each file and
// what its outcome means (dispatch.ts, policy.ts), the batch writer (file done only with its
// bars), the shared-store extras (shared.ts), coverage and the report. The same code serves the
// SQLite and the PostgreSQL store.
import { join } from 'node:path';
import { AbortedError, type PreloadError } from '../errors.js';
import type { PreloadEvent } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { JobPlan } from '../plan.js';
import { DownloadPool, poolLayout, WRITER_BOUND_NICE } from '../pool/pool.js';
import { resolveCredentials, type S3Config } from '../s3/client.js';
import { releaseCredentials } from '../s3/credentials.js';
import { createListObjects } from '../s3/list-objects.js';
import type { JobSpec, Store, WorkItem, WorkQueue } from '../store/types.js';
import type { DayFile } from '../types.js';
import { Claims } from './claims.js';
import { recordCoverage } from './coverage.js';
import { Dispatch, taskSettings } from './dispatch.js';
import { Jobs } from './jobs.js';
import { AdaptiveLimit, watchThrottles } from './limit.js';
import { Listing } from './listing.js';
import { asPreloadError, FailurePolicy, isAbort } from './policy.js';
import { buildReport, type PreloadReport } from './report.js';
import { JobWatch, startRateLimit } from './shared.js';
import { RunStats } from './stats.js';
import { BatchWriter } from './writer.js';

/**
 * Downloads in flight a process starts with on a shared store, growing by one per completed file:
 * a process that starts first must not take 20 large files before the others have registered.
 */
const SHARED_START_IN_FLIGHT = 4;

/** The aborted run's report, as far as it got; its progress is recorded. */
export class PreloadAbortedError extends AbortedError {
  readonly report: PreloadReport;
  constructor(report: PreloadReport) {
    super('Interrupted: the progress made so far is recorded; run the same command again to resume');
    this.report = report;
  }
}

export class Run {
  readonly #o: ResolvedOptions;
  readonly #store: Store;
  readonly #jobs: Jobs;
  readonly #controller = new AbortController();
  readonly #stats = new RunStats();
  readonly #listing: Listing;
  readonly #writer: BatchWriter;
  readonly #jobWatch = new JobWatch();
  #limit: AdaptiveLimit;
  #queue: WorkQueue | undefined;
  #claims: Claims | undefined;
  #dispatch: Dispatch | undefined;
  #pool: DownloadPool | undefined;
  #config: S3Config | undefined;
  #fatal: PreloadError | undefined;

  constructor(store: Store, plans: JobPlan[], o: ResolvedOptions) {
    this.#store = store;
    this.#jobs = new Jobs(plans);
    this.#o = o;
    this.#limit = new AdaptiveLimit(o.workers);
    this.#listing = new Listing({ jobs: this.#jobs, store, stats: this.#stats, schedule: (spec, needed) => this.#schedule(spec, needed) });
    this.#writer = new BatchWriter(
      (batch) => this.#queue?.complete(batch) ?? Promise.resolve(),
      (error) => this.#fail(error),
    );
  }

  async execute(started: number): Promise<PreloadReport> {
    // Listened to through a signal of our own: an app that passes one signal to many concurrent
    // calls would otherwise collect a listener per call on it (and Node's listener warning).
    const signal = this.#o.signal && AbortSignal.any([this.#o.signal]);
    const onAbort = (): void => this.#controller.abort();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // Stop in-flight downloads at once: their keys are not recorded, so the next run redoes them
    // (a download that completes meanwhile is still recorded with its bars).
    const closePool = (): void => {
      this.#pool?.close().catch((error: unknown) => this.#fail(error));
    };
    this.#controller.signal.addEventListener('abort', closePool, { once: true });
    const stops: Array<() => void> = [];
    try {
      for (const spec of this.#jobs.specs()) await this.#store.prepareJob(spec, { clear: this.#o.clearProgress });
      const queue = await this.#store.openQueue(this.#jobs.specs());
      this.#queue = queue;
      await this.#start(queue, stops);
      this.#stats.counts.listingDone = !this.#controller.signal.aborted;
      if (this.#stats.counts.listingDone) this.#claims?.listingDone();
      this.#emitProgress();
      await this.#idle();
    } catch (error) {
      this.#fail(error);
      await this.#idle();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const stop of stops) stop();
      const unclaimed = this.#claims?.stop() ?? [];
      await this.#writer.flush();
      await this.#pool?.close();
      // Its provider and the refresh of temporary credentials end with the run.
      if (this.#config) releaseCredentials(this.#config.credentials);
      await this.#closeQueue(unclaimed);
    }
    if (this.#fatal !== undefined) throw this.#fatal;
    // Offline, the mirror is not the calendar: a missing day cannot be told from a holiday.
    if (!this.#controller.signal.aborted && !this.#o.offline) {
      const failedJobs = this.#dispatch?.failedJobs ?? new Set<string>();
      await recordCoverage(this.#store, { plans: this.#jobs.plans, starts: this.#listing.starts, lastListed: this.#listing.lastListed, failedJobs, failedByAnyone: this.#jobWatch.counts?.failed });
    }
    const report = await buildReport({
      plans: this.#jobs.plans,
      starts: this.#listing.starts,
      store: this.#store,
      stats: this.#stats,
      interval: this.#o.interval,
      started,
      job: this.#jobWatch.report(this.#queue?.processId),
      listedFiles: this.#listing.listedFiles,
      complete: this.#stats.counts.listingDone && !this.#controller.signal.aborted,
    });
    if (this.#controller.signal.aborted) throw new PreloadAbortedError(report);
    return report;
  }

  /** Wires the parts around an open queue and lists; resolves once the listing has ended. */
  async #start(queue: WorkQueue, stops: Array<() => void>): Promise<void> {
    const o = this.#o;
    const fail = (error: unknown): void => this.#fail(error);
    const shared = queue.processId !== undefined;
    const limit = shared ? new AdaptiveLimit(o.workers, { start: SHARED_START_IN_FLIGHT }) : this.#limit;
    this.#limit = limit;
    if (shared) stops.push(this.#jobWatch.watch(queue, () => this.#emitProgress()));
    const { rateLimit, stop } = startRateLimit(o.maxRps, queue, fail);
    stops.push(stop);
    const throttleSignal = new SharedArrayBuffer(4);
    stops.push(watchThrottles(throttleSignal, () => limit.throttled(performance.now())));
    let config: S3Config | undefined;
    if (!o.offline) config = { endpoint: o.endpoint, bucket: o.bucket, region: o.region, credentials: await resolveCredentials(o.credentials, o.endpoint) };
    this.#config = config;
    const rawDir = join(o.cacheDir, 'raw');
    const dispatch = new Dispatch({
      jobs: this.#jobs,
      download: (task, transfer) => (this.#pool ??= new DownloadPool(poolLayout(o.workers, o.threads), this.#writerBound() ? WRITER_BOUND_NICE : 0)).run(task, transfer),
      task: taskSettings(o, { config, rateLimit, throttleSignal, rawDir }),
      queue,
      writer: this.#writer,
      stats: this.#stats,
      limit,
      policy: new FailurePolicy(o.endpoint),
      signal: this.#controller.signal,
      replaces: (item) => this.#listing.republished(item),
      onFailure: (event) => this.#emit(event),
      fail,
    });
    this.#dispatch = dispatch;
    this.#claims = new Claims({
      queue,
      limit,
      signal: this.#controller.signal,
      dispatch: (item) => dispatch.file(item),
      settled: () => this.#emitProgress(),
      onError: fail,
    });
    if (config === undefined) await this.#listing.fromMirror(rawDir);
    else await this.#listing.fromBucket(createListObjects(config, { rateLimit, timeoutMs: o.timeoutMs }), o.bucket, this.#controller.signal);
  }

  /** A listed page's needed files go to the queue; then claim, and tell the progress. */
  async #schedule(spec: JobSpec, needed: DayFile[]): Promise<void> {
    if (needed.length > 0) {
      await this.#queue?.offer(spec, needed);
      this.#claims?.offered();
    } else {
      this.#claims?.pump();
    }
    this.#emitProgress();
  }

  /** An `--all` job's rows all go through the main thread's store writer, which then caps the run. */
  #writerBound(): boolean {
    return this.#jobs.specs().some((spec) => spec.all === true);
  }

  /** The first error stops the run (later ones, and aborts once it is stopping, are not the cause). */
  #fail(error: unknown): void {
    if (this.#fatal === undefined && !(this.#controller.signal.aborted && isAbort(error))) this.#fatal = asPreloadError(error);
    this.#controller.abort();
    // Stopped, a pump starts and claims nothing: it only looks whether the run is now idle.
    this.#claims?.pump();
  }

  #idle(): Promise<void> {
    return this.#claims?.idle() ?? Promise.resolve();
  }

  /** Gives back what was claimed and never started, then ends this process's part. */
  async #closeQueue(unclaimed: WorkItem[]): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    try {
      if (unclaimed.length > 0) await queue.release(unclaimed);
      if (queue.processId !== undefined) await this.#jobWatch.final(queue);
    } catch (error) {
      this.#fail(error);
    } finally {
      await queue.close().catch((error: unknown) => this.#fail(error));
    }
  }

  #emit(event: PreloadEvent): void {
    this.#o.onProgress?.(event);
  }

  #emitProgress(): void {
    this.#stats.counts.inFlightLimit = this.#limit.current;
    this.#stats.counts.inFlight = this.#claims?.running ?? 0;
    const job = this.#jobWatch.counts;
    this.#emit({ type: 'progress', ...this.#stats.counts, ...(job ? { job: { ...job } } : {}) });
  }
}
