// One run, wired from small parts: the store's work queue (which files are this process's), the
// listing, the download pool, the adaptive limit, the breaker, the batch writer (file done only
// with its bars) and the stats. The same code serves the SQLite and the PostgreSQL store.
import { join } from 'node:path';
import { listRaw } from '../cache/raw.js';
import { AbortedError, ConfigurationError, NotEntitledError, PreloadError } from '../errors.js';
import type { PreloadEvent } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { JobPlan } from '../plan.js';
import type { TaskResult } from '../pool/messages.js';
import { DownloadPool, poolLayout } from '../pool/pool.js';
import { resolveCredentials, type S3Config } from '../s3/client.js';
import { createListObjects, type ListObjects } from '../s3/list-objects.js';
import { findFirstDay, listDayFiles } from '../s3/list.js';
import type { DayFile, JobCounts } from '../types.js';
import { createRateLimit, startSlotFeed, type RateLimit } from '../s3/rate-limit.js';
import type { DoneKey, JobSpec, ProcessInfo, Store, WorkItem, WorkQueue } from '../store/types.js';
import { Breaker } from './breaker.js';
import { AdaptiveLimit, watchThrottles } from './limit.js';
import type { Failure, JobReport, PreloadReport } from './report.js';
import { RunStats } from './stats.js';
import { BatchWriter } from './writer.js';

/** Keys in a row that cannot connect before the run stops instead of trying every other key. */
const BREAKER_THRESHOLD = 3;
/** Day files (~250 KB) are read at once; minute files (tens of MB) stream through. */
const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;
/** How often a process that has nothing to claim looks again (another process's files may free up). */
const POLL_MS = 300;
/**
 * Downloads in flight a process starts with on a shared store, growing by one per completed file:
 * a process that starts first must not take 20 large files before the others have registered.
 */
const SHARED_START_IN_FLIGHT = 4;
/** How often a shared store's whole-job counts are refreshed for the progress events. */
const JOB_COUNTS_MS = 1_000;

/** The aborted run's report, as far as it got; its progress is recorded. */
export class PreloadAbortedError extends AbortedError {
  readonly report: PreloadReport;
  constructor(report: PreloadReport) {
    super('Interrupted: the progress made so far is recorded; run the same command again to resume');
    this.report = report;
  }
}

export function jobSpec(plan: JobPlan): JobSpec {
  return { job: plan.job, dataset: plan.dataset, interval: plan.interval, tickers: plan.symbols.map((s) => s.ticker) };
}

export class Run {
  readonly #plans: JobPlan[];
  readonly #byJob: Map<string, { plan: JobPlan; spec: JobSpec }>;
  readonly #o: ResolvedOptions;
  readonly #store: Store;
  readonly #controller = new AbortController();
  readonly #stats = new RunStats();
  #limit: AdaptiveLimit;
  readonly #breaker = new Breaker(BREAKER_THRESHOLD);
  readonly #writer: BatchWriter;
  #rateLimit: RateLimit | undefined;
  readonly #throttleSignal = new SharedArrayBuffer(4);
  readonly #failedJobs = new Set<string>();
  readonly #starts = new Map<JobPlan, string>();
  /** Claimed, not yet started. */
  readonly #buffer: WorkItem[] = [];
  /** Started, not yet settled. */
  readonly #running = new Set<WorkItem>();
  #queue: WorkQueue | undefined;
  #pool: DownloadPool | undefined;
  #config: S3Config | undefined;
  #fatal: unknown;
  #listingDone = false;
  /** False after a claim came back empty, until new files are offered, a file ends or a poll finds some. */
  #claimable = false;
  #claiming = false;
  #checking = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #jobCounts: JobCounts | undefined;
  #processes: ProcessInfo[] = [];
  #onIdle: (() => void) | undefined;

  constructor(store: Store, plans: JobPlan[], o: ResolvedOptions) {
    this.#store = store;
    this.#plans = plans;
    this.#byJob = new Map(plans.map((plan) => [plan.job, { plan, spec: jobSpec(plan) }]));
    this.#o = o;
    this.#limit = new AdaptiveLimit(o.workers);
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
    this.#controller.signal.addEventListener('abort', () => void this.#pool?.close(), { once: true });
    const stops: Array<() => void> = [];
    try {
      for (const { spec } of this.#byJob.values()) await this.#store.prepareJob(spec, { clear: this.#o.clearProgress });
      const queue = await this.#store.openQueue([...this.#byJob.values()].map((j) => j.spec));
      this.#queue = queue;
      if (queue.processId !== undefined) {
        this.#limit = new AdaptiveLimit(this.#o.workers, { start: SHARED_START_IN_FLIGHT });
        stops.push(this.#watchJob(queue));
      }
      stops.push(this.#startRateLimit(queue));
      stops.push(watchThrottles(this.#throttleSignal, () => this.#limit.throttled(performance.now())));
      if (this.#o.offline) {
        await Promise.all(this.#plans.map((plan) => this.#listOffline(plan)));
      } else {
        const credentials = await resolveCredentials(this.#o.credentials, this.#o.endpoint);
        this.#config = { endpoint: this.#o.endpoint, bucket: this.#o.bucket, credentials };
        const client = createListObjects(this.#config, { rateLimit: this.#rateLimit, timeoutMs: this.#o.timeoutMs });
        await Promise.all(this.#plans.map((plan) => this.#listPlan(client, plan)));
      }
      this.#listingDone = !this.#controller.signal.aborted;
      this.#stats.counts.listingDone = this.#listingDone;
      this.#emitProgress();
      await this.#idle();
    } catch (error) {
      this.#fail(error);
      await this.#idle();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const stop of stops) stop();
      clearTimeout(this.#pollTimer);
      await this.#writer.flush();
      await this.#pool?.close();
      await this.#closeQueue();
    }
    if (this.#fatal !== undefined) throw this.#fatal;
    // Offline, the mirror is not the calendar: a missing day cannot be told from a holiday.
    if (!this.#controller.signal.aborted && !this.#o.offline) await this.#recordCoverage();
    const report = await this.#report(started);
    if (this.#controller.signal.aborted) throw new PreloadAbortedError(report);
    return report;
  }

  async #listPlan(client: ListObjects, plan: JobPlan): Promise<void> {
    const signal = this.#controller.signal;
    const start = plan.start ?? (await findFirstDay(client, { dataset: plan.dataset, bucket: this.#o.bucket, signal }));
    if (start === undefined) return;
    this.#starts.set(plan, start);
    const schedule = await this.#scheduler(plan, start);
    for await (const files of listDayFiles(client, { dataset: plan.dataset, bucket: this.#o.bucket, start, end: plan.end, signal })) {
      if (signal.aborted) return;
      await schedule(files);
    }
  }

  /** --offline: the raw mirror stands in for the listing. */
  async #listOffline(plan: JobPlan): Promise<void> {
    const start = plan.start ?? '2000-01-01';
    this.#starts.set(plan, start);
    const { files, emptyMonths } = await listRaw(this.#rawDir(), plan.dataset, start, plan.end);
    if (emptyMonths.length > 0) {
      const shown = emptyMonths.length > 6 ? `${emptyMonths.slice(0, 6).join(', ')}, ...` : emptyMonths.join(', ');
      this.#stats.notes.push(
        `offline: ${emptyMonths.length} month(s) of ${plan.dataset} in the window have no mirrored files (${shown}); run without --offline to fetch them`,
      );
    }
    await (await this.#scheduler(plan, start))(files);
  }

  #rawDir(): string {
    return join(this.#o.cacheDir, 'raw');
  }

  /** Sorts listed files into skipped (done before, same ETag) and offered to the queue. */
  async #scheduler(plan: JobPlan, start: string): Promise<(files: DayFile[]) => Promise<void>> {
    const done = await this.#store.doneKeys(plan.job);
    const ingested = await Promise.all(plan.symbols.map((s) => this.#store.ingestedDays(s.ticker, plan.interval, start, plan.end)));
    const { spec } = this.#job(plan.job);
    return async (files) => {
      const c = this.#stats.counts;
      const needed: DayFile[] = [];
      for (const file of files) {
        c.listed += 1;
        const etags = recordedEtags(file, done, ingested);
        if (etags.length > 0 && etags.every((e) => e === file.etag)) {
          c.skipped += 1;
          continue;
        }
        // The provider replaced a file it had published: fetch it again and replace that day.
        if (etags.length > 0) c.republished += 1;
        needed.push(file);
      }
      if (needed.length > 0) {
        await this.#queue?.offer(spec, needed);
        this.#claimable = true;
      }
      this.#pump();
      this.#emitProgress();
    };
  }

  /** A job of this run: its plan and what the store knows it by. */
  #job(job: string): { plan: JobPlan; spec: JobSpec } {
    const found = this.#byJob.get(job);
    if (!found) throw new RangeError(`unknown job ${job}`);
    return found;
  }

  /** Starts downloads while fewer than the limit are in flight; claims more when the buffer runs low. */
  #pump(): void {
    const aborted = this.#controller.signal.aborted;
    while (!aborted && this.#running.size < this.#limit.current && this.#buffer.length > 0) {
      const next = this.#buffer.shift();
      if (next) void this.#download(next);
    }
    // Only what can start now: on a shared store, a file claimed ahead is a file another process
    // could be downloading (measured: with 4 ahead, the first of 4 processes took 8 of a month's
    // 23 minute files and the last none).
    const room = this.#limit.current - this.#running.size - this.#buffer.length;
    // A shared store's claim is a round trip and a query (~2-3 ms of the server's CPU): wait until
    // a quarter of the slots are free, unless nothing is running.
    const batch = this.#queue?.processId === undefined || this.#running.size === 0 ? 1 : Math.max(1, Math.floor(this.#limit.current / 4));
    if (!aborted && room >= batch && this.#claimable && !this.#claiming) void this.#claim(room);
    this.#checkIdle();
  }

  async #claim(n: number): Promise<void> {
    this.#claiming = true;
    try {
      const items = await this.#queue?.claim(n);
      if (!items || items.length === 0) this.#claimable = false;
      else this.#buffer.push(...items);
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#claiming = false;
    }
    this.#pump();
  }

  /**
   * Resolves the run's idle promise once nothing is in flight and the queue has nothing left for
   * anyone (on a shared store, files claimed by other live processes keep this one polling, so it
   * can take them over if their owner dies).
   */
  #checkIdle(): void {
    if (this.#running.size > 0 || this.#claiming || this.#checking) return;
    if (this.#controller.signal.aborted) {
      this.#onIdle?.();
      return;
    }
    if (!this.#listingDone || this.#buffer.length > 0 || this.#claimable) return;
    this.#checking = true;
    void (this.#queue?.remaining() ?? Promise.resolve({ pending: 0, claimedByOthers: 0 }))
      .then(({ pending, claimedByOthers }) => {
        this.#checking = false;
        if (pending === 0 && claimedByOthers === 0) return this.#onIdle?.();
        if (pending > 0) this.#claimable = true;
        clearTimeout(this.#pollTimer);
        this.#pollTimer = setTimeout(() => {
          this.#claimable = true;
          this.#pump();
        }, pending > 0 ? 0 : POLL_MS);
      })
      .catch((error: unknown) => {
        this.#checking = false;
        this.#fail(error);
        this.#onIdle?.();
      });
  }

  async #download(item: WorkItem): Promise<void> {
    this.#running.add(item);
    const { file } = item;
    try {
      const { plan, spec } = this.#job(item.job);
      this.#pool ??= new DownloadPool(poolLayout(this.#o.workers, this.#o.threads));
      const result: TaskResult = await this.#pool.run({
        // Undefined offline: the worker then reads the raw mirror only.
        config: this.#config,
        key: file.key,
        day: file.day,
        size: file.size,
        etag: file.etag,
        tickers: spec.tickers as string[],
        retries: this.#o.retries,
        minRetryDelayMs: this.#o.retryDelayMs,
        requestTimeoutMs: this.#o.timeoutMs,
        rateLimit: this.#rateLimit,
        throttleSignal: this.#throttleSignal,
        streamAboveBytes: STREAM_ABOVE_BYTES,
        rawDir: this.#o.keepRaw || this.#o.offline ? this.#rawDir() : undefined,
        lastModified: file.lastModified,
      });
      this.#stats.counts.retries += result.retries;
      if (result.throttled === 0) this.#limit.calm();
      if (result.ok) {
        this.#breaker.reached();
        this.#stats.downloaded({ ...result, rows: result.rows.length });
        // In flight until committed: a kill loses at most the files counted as in flight.
        await this.#writer.add({ job: spec, file, rows: result.rows });
      } else {
        const { code } = result;
        // Stopped by the run's abort: neither done nor failed; another process or the next run takes it.
        if (code === 'ERR_ABORTED') await this.#queue?.release([item]).catch(() => undefined);
        else this.#failed(plan, item, { key: result.key, code, message: result.message });
      }
    } catch (error) {
      // An aborted task is neither done nor failed: the next run downloads it again.
      if (!this.#controller.signal.aborted) this.#fail(error);
    } finally {
      this.#running.delete(item);
      // A shared store's fair share grows as this process's files complete: ask again.
      this.#claimable = true;
      this.#emitProgress();
      this.#pump();
    }
  }

  #failed(plan: JobPlan, item: WorkItem, result: Failure): void {
    this.#failedJobs.add(plan.job);
    const failure = { key: result.key, code: result.code, message: result.message };
    this.#stats.failed(failure);
    this.#emit({ type: 'failure', ...failure });
    void this.#queue?.fail(item, failure).catch((error: unknown) => this.#fail(error));
    // Retrying other keys cannot fix these: stop the run early with one clear error.
    if (result.code === 'ERR_NOT_ENTITLED') this.#fail(new NotEntitledError(plan.dataset, item.file.key));
    if (result.code === 'ERR_CREDENTIALS') this.#fail(new ConfigurationError(result.message));
    if (result.code !== 'ERR_UNREACHABLE') this.#breaker.reached();
    else if (this.#breaker.unreachable()) {
      this.#fail(
        new PreloadError(
          'ERR_UNREACHABLE',
          `Cannot reach the S3 endpoint ${this.#o.endpoint}: ${this.#breaker.count} files in a row could not connect. Stopped; the progress made so far is kept, run the same command again to resume.`,
        ),
      );
    }
  }

  #fail(error: unknown): void {
    if (this.#fatal === undefined && !(this.#controller.signal.aborted && isAbort(error))) {
      this.#fatal = error instanceof PreloadError ? error : new PreloadError('ERR_UNEXPECTED', String((error as Error)?.message ?? error), { cause: error });
    }
    this.#controller.abort();
    this.#checkIdle();
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#onIdle = resolve;
      this.#pump();
    });
  }

  /** Gives back what was claimed and never started, then ends this process's part. */
  async #closeQueue(): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    try {
      if (this.#buffer.length > 0) await queue.release(this.#buffer.splice(0));
      if (queue.processId !== undefined) {
        this.#jobCounts = await queue.counts();
        this.#processes = await queue.processes();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      await queue.close().catch((error: unknown) => this.#fail(error));
    }
  }

  /**
   * `--max-rps`: this process's own cap, or, on a store that shares one, slots granted by the
   * store to every process on the job (taken in small batches by a feed on this thread).
   */
  #startRateLimit(queue: WorkQueue): () => void {
    const rps = this.#o.maxRps;
    if (rps === undefined) return () => undefined;
    const grant = queue.rateSlots;
    this.#rateLimit = createRateLimit(rps, { shared: grant !== undefined });
    if (grant === undefined) return () => undefined;
    // A grant that fails means the store is gone: the run stops rather than wait on it.
    const feed = startSlotFeed(this.#rateLimit, (n) => grant(rps, n), { onError: (error) => this.#fail(error) });
    return () => feed.stop();
  }

  /** Keeps the whole job's counts fresh for the progress events (shared stores). */
  #watchJob(queue: WorkQueue): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      queue
        .counts()
        .then((counts) => {
          this.#jobCounts = counts;
          this.#emitProgress();
        })
        .catch(() => undefined) // a real outage surfaces through the claims and commits
        .finally(() => (busy = false));
    }, JOB_COUNTS_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  #emit(event: PreloadEvent): void {
    this.#o.onProgress?.(event);
  }

  #emitProgress(): void {
    this.#stats.counts.inFlightLimit = this.#limit.current;
    this.#emit({ type: 'progress', ...this.#stats.counts, ...(this.#jobCounts ? { job: { ...this.#jobCounts } } : {}) });
  }

  /** A window is known complete for a symbol once every listed day of it is ingested. */
  async #recordCoverage(): Promise<void> {
    // On a shared store another process may have failed a file of the job: not complete then.
    if ((this.#jobCounts?.failed ?? 0) > 0) return;
    for (const plan of this.#plans) {
      const start = this.#starts.get(plan);
      if (start === undefined || this.#failedJobs.has(plan.job) || plan.publishedEnd < start) continue;
      for (const s of plan.symbols) await this.#store.addCoverage(s.ticker, plan.interval, start, plan.publishedEnd);
    }
  }

  async #report(started: number): Promise<PreloadReport> {
    const c = this.#stats.counts;
    const start = this.#plans.map((p) => this.#starts.get(p) ?? p.start ?? p.end).sort()[0] ?? '';
    const end = this.#plans.map((p) => p.end).sort().at(-1) ?? '';
    let first: number | undefined;
    let last: number | undefined;
    for (const plan of this.#plans) {
      const tickers = plan.symbols.map((s) => s.ticker);
      const range = await this.#store.barRange(tickers, plan.interval, this.#starts.get(plan) ?? start, plan.end);
      if (range && (first === undefined || range.first < first)) first = range.first;
      if (range && (last === undefined || range.last > last)) last = range.last;
    }
    const job = this.#jobReport();
    return {
      symbols: this.#plans.flatMap((p) => p.symbols.map((s) => s.symbol)),
      dataset: this.#plans.map((p) => p.dataset).join(','),
      interval: this.#o.interval,
      start,
      end,
      files: { listed: c.listed, downloaded: c.downloaded, skipped: c.skipped, failed: c.failed },
      bytes: c.bytes,
      bars: c.bars,
      barRange: first === undefined || last === undefined ? null : { first: new Date(first).toISOString(), last: new Date(last).toISOString() },
      elapsedMs: Math.round(performance.now() - started),
      failures: this.#stats.failures,
      retries: c.retries,
      republished: c.republished,
      fromRawMirror: this.#stats.fromMirror,
      notes: this.#stats.notes,
      malformedRows: this.#stats.malformed,
      duplicateRows: this.#stats.duplicates,
      ...(job ? { job } : {}),
    };
  }

  #jobReport(): JobReport | undefined {
    const queue = this.#queue;
    if (queue?.processId === undefined || this.#jobCounts === undefined) return undefined;
    return { ...this.#jobCounts, processId: queue.processId, processes: this.#processes };
  }
}

/**
 * The ETags a listed file was ingested from before: this job's record of the key, else, when
 * every symbol of the job already has that day (from other jobs), theirs. Empty: never ingested.
 */
function recordedEtags(file: DayFile, done: Map<string, DoneKey>, ingested: Array<Map<string, string>>): string[] {
  const own = done.get(file.key);
  if (own) return [own.etag];
  const etags = ingested.map((days) => days.get(file.day));
  return etags.every((e): e is string => e !== undefined) ? etags : [];
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}
