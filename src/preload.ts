import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { BarStore } from './cache/bars.js';
import { openDatabase, type Db } from './cache/database.js';
import { listRaw } from './cache/raw.js';
import { AbortedError, NotEntitledError, PreloadError, ConfigurationError } from './errors.js';
import type { PreloadEvent, ProgressEvent } from './events.js';
import { planJobs, resolveOptions, type JobPlan, type PreloadOptions, type ResolvedOptions } from './options.js';
import type { TaskResult, TaskSuccess } from './pool/messages.js';
import { DownloadPool, poolLayout } from './pool/pool.js';
import { ProgressStore, type DoneKey } from './progress/store.js';
import { createS3Client, resolveCredentials, type S3Config } from './s3/client.js';
import { createRateLimit, type RateLimit } from './s3/rate-limit.js';
import { findFirstDay, listDayFiles, type DayFile } from './s3/list.js';

/** A key that failed after its retries. */
export interface Failure {
  key: string;
  code: string;
  message: string;
}

/** The outcome of a run: the fields of the CLI's `--json` output. */
export interface PreloadReport {
  /** The symbols as requested (upper-cased). */
  symbols: string[];
  /** The dataset prefix(es) read, comma-separated when symbols span several. */
  dataset: string;
  start: string;
  end: string;
  files: {
    listed: number;
    downloaded: number;
    /** Already done in an earlier run: resumed past, not downloaded. */
    skipped: number;
    failed: number;
  };
  /** Verified bytes downloaded this run. */
  bytes: number;
  /** Bars merged (upserted) into the cache this run. */
  bars: number;
  /** Time range of the bars held in the cache for the run's window, or null if none. */
  barRange: { first: string; last: string } | null;
  elapsedMs: number;
  failures: Failure[];
  retries: number;
  /** Files read from the raw mirror (--keep-raw) instead of downloaded; counted in `files.downloaded`. */
  fromRawMirror: number;
  /** Things worth knowing about the run, e.g. what --offline could not see. */
  notes: string[];
  /** Files done earlier that the provider has since replaced (new ETag): downloaded again, their days replaced. */
  republished: number;
  /** Rows of the requested symbols that could not be parsed. */
  malformedRows: number;
  /** Repeated rows for the same bar inside one file (the last one wins). */
  duplicateRows: number;
}

/**
 * Downloads the day files covering `symbols` and merges their bars into the cache. Resumes
 * where an earlier run of the same job stopped; `clearProgress` starts over.
 *
 * @example
 * const report = await preload(['TSLA', 'AAPL'], { period: '1y', onProgress: (e) => console.log(e) });
 * @throws InvalidOptionError on bad options, ConfigurationError when credentials or the cache
 * directory are unusable, NotEntitledError on a 403, AbortedError (with `.report`) when `signal` aborts.
 */
export async function preload(symbols: string | readonly string[], options?: PreloadOptions): Promise<PreloadReport> {
  const o = resolveOptions(options);
  const plans = planJobs(typeof symbols === 'string' ? [symbols] : symbols, o);
  return runPlans(plans, o);
}

/** The aborted run's report, as far as it got; its progress is recorded. */
export class PreloadAbortedError extends AbortedError {
  readonly report: PreloadReport;
  constructor(report: PreloadReport) {
    super('Interrupted: the progress made so far is recorded; run the same command again to resume');
    this.report = report;
  }
}

/** Keys in a row that cannot connect before the run stops instead of trying every other key. */
const BREAKER_THRESHOLD = 3;
const FLUSH_EVERY = 64;
/** Day files (~250 KB) are read at once; minute files (tens of MB) stream through. */
const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;
const FLUSH_MS = 250;

interface Completed {
  plan: JobPlan;
  file: DayFile;
  result: TaskSuccess;
}

export async function runPlans(plans: JobPlan[], o: ResolvedOptions): Promise<PreloadReport> {
  const started = performance.now();
  emit(o, {
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
  const db = openDatabase(o.cacheDir);
  try {
    const run = new Run(db, plans, o);
    return await run.execute(started);
  } finally {
    db.close();
  }
}

function emit(o: ResolvedOptions, event: PreloadEvent): void {
  o.onProgress?.(event);
}

/** One run: lists, schedules downloads with a bounded number in flight, merges in batches. */
class Run {
  readonly #plans: JobPlan[];
  readonly #o: ResolvedOptions;
  readonly #bars: BarStore;
  readonly #progress: ProgressStore;
  readonly #controller = new AbortController();
  readonly #counts: Omit<ProgressEvent, 'type'> = {
    listed: 0,
    listingDone: false,
    skipped: 0,
    downloaded: 0,
    failed: 0,
    bytes: 0,
    bars: 0,
    retries: 0,
    republished: 0,
    inFlightLimit: 0,
  };
  readonly #failures: Failure[] = [];
  readonly #notes: string[] = [];
  #fromMirror = 0;
  readonly #failedJobs = new Set<string>();
  readonly #queue: Array<{ plan: JobPlan; file: DayFile }> = [];
  #pending: Completed[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #malformed = 0;
  #duplicates = 0;
  #pool: DownloadPool | undefined;
  #config: S3Config | undefined;
  #fatal: unknown;
  #onIdle: (() => void) | undefined;
  /** Consecutive keys that could not connect at all: the circuit breaker's count. */
  #unreachable = 0;
  #lastThrottle = 0;
  #calmSuccesses = 0;
  readonly #throttleSignal = new SharedArrayBuffer(4);
  #throttlesSeen = 0;
  #throttleWatch: NodeJS.Timeout | undefined;
  readonly #rateLimit: RateLimit | undefined;
  readonly #commit: (batch: Completed[]) => void;

  constructor(db: Db, plans: JobPlan[], o: ResolvedOptions) {
    this.#plans = plans;
    this.#o = o;
    this.#bars = new BarStore(db);
    this.#progress = new ProgressStore(db);
    this.#counts.inFlightLimit = o.workers;
    this.#rateLimit = o.maxRps === undefined ? undefined : createRateLimit(o.maxRps);
    // The key is recorded done in the same transaction that merges its bars.
    this.#commit = db.transaction((batch: Completed[]) => {
      for (const { plan, file, result } of batch) {
        for (const { ticker } of plan.symbols) {
          const rows = result.rows.filter((r) => r.ticker === ticker).map((r) => ({ ...r, symbol: ticker, day: file.day }));
          this.#bars.replaceDay(ticker, plan.interval, file.day, rows);
          this.#bars.markIngested(ticker, plan.interval, { ...file, dataset: plan.dataset }, rows.length);
        }
        this.#progress.markDone(plan.job, file);
      }
    });
  }

  async execute(started: number): Promise<PreloadReport> {
    const { signal } = this.#o;
    const onAbort = (): void => this.#controller.abort();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // Stop in-flight downloads at once: their keys are not recorded, so the next run redoes them
    // (a download that completes meanwhile is still recorded with its bars).
    this.#controller.signal.addEventListener('abort', () => void this.#pool?.close(), { once: true });
    const starts = new Map<JobPlan, string>();
    let listing: S3Client | undefined;
    try {
      this.#prepareJobs();
      if (this.#o.offline) {
        await Promise.all(this.#plans.map((plan) => this.#listOffline(plan, starts)));
      } else {
        const credentials = await resolveCredentials(this.#o.credentials, this.#o.endpoint);
        this.#config = { endpoint: this.#o.endpoint, bucket: this.#o.bucket, credentials };
        const client = createS3Client(this.#config, { rateLimit: this.#rateLimit });
        listing = client;
        await Promise.all(this.#plans.map((plan) => this.#listPlan(client, plan, starts)));
      }
      this.#counts.listingDone = !this.#controller.signal.aborted;
      this.#emitProgress();
      await this.#idle();
    } catch (error) {
      this.#fail(error);
      await this.#idle();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(this.#flushTimer);
      clearInterval(this.#throttleWatch);
      this.#flush();
      await this.#pool?.close();
      listing?.destroy();
    }
    if (this.#fatal !== undefined) throw this.#fatal;
    // Offline, the mirror is not the calendar: a missing day cannot be told from a holiday.
    if (!this.#controller.signal.aborted && !this.#o.offline) this.#recordCoverage(starts);
    const report = this.#report(starts, started);
    if (this.#controller.signal.aborted) throw new PreloadAbortedError(report);
    return report;
  }

  /** Applies `clearProgress` and registers each job in the progress store. */
  #prepareJobs(): void {
    for (const plan of this.#plans) {
      const tickers = plan.symbols.map((s) => s.ticker);
      if (this.#o.clearProgress) clearJob(this.#progress, this.#bars, plan.job, tickers, plan.interval);
      this.#progress.touchJob(plan.job, plan.dataset, plan.interval, tickers);
    }
  }

  async #listPlan(client: S3Client, plan: JobPlan, starts: Map<JobPlan, string>): Promise<void> {
    const signal = this.#controller.signal;
    const start = plan.start ?? (await findFirstDay(client, { dataset: plan.dataset, bucket: this.#o.bucket, signal }));
    if (start === undefined) return;
    starts.set(plan, start);
    const schedule = this.#scheduler(plan, start);
    for await (const files of listDayFiles(client, { dataset: plan.dataset, bucket: this.#o.bucket, start, end: plan.end, signal })) {
      if (signal.aborted) return;
      schedule(files);
    }
  }

  /** --offline: the raw mirror stands in for the listing. */
  async #listOffline(plan: JobPlan, starts: Map<JobPlan, string>): Promise<void> {
    const start = plan.start ?? '2000-01-01';
    starts.set(plan, start);
    const { files, emptyMonths } = await listRaw(this.#rawDir(), plan.dataset, start, plan.end);
    if (emptyMonths.length > 0) {
      const shown = emptyMonths.length > 6 ? `${emptyMonths.slice(0, 6).join(', ')}, ...` : emptyMonths.join(', ');
      this.#notes.push(
        `offline: ${emptyMonths.length} month(s) of ${plan.dataset} in the window have no mirrored files (${shown}); run without --offline to fetch them`,
      );
    }
    this.#scheduler(plan, start)(files);
  }

  #rawDir(): string {
    return join(this.#o.cacheDir, 'raw');
  }

  /** Sorts listed files into skipped (done before, same ETag) and queued, then starts downloads. */
  #scheduler(plan: JobPlan, start: string): (files: DayFile[]) => void {
    const done = this.#progress.doneKeys(plan.job);
    const ingested = plan.symbols.map((s) => this.#bars.ingestedDays(s.ticker, plan.interval, start, plan.end));
    return (files) => {
      for (const file of files) {
        this.#counts.listed += 1;
        const etags = recordedEtags(file, done, ingested);
        if (etags.length > 0 && etags.every((e) => e === file.etag)) {
          this.#counts.skipped += 1;
          continue;
        }
        // The provider replaced a file it had published: fetch it again and replace that day.
        if (etags.length > 0) this.#counts.republished += 1;
        this.#queue.push({ plan, file });
      }
      this.#pump();
      this.#emitProgress();
    };
  }

  /** Starts downloads while fewer than `workers` are in flight. */
  #pump(): void {
    while (this.#inFlight < this.#counts.inFlightLimit && this.#queue.length > 0 && !this.#controller.signal.aborted) {
      const next = this.#queue.shift();
      if (next) void this.#download(next.plan, next.file);
    }
    if (this.#inFlight === 0 && (this.#queue.length === 0 || this.#controller.signal.aborted)) this.#onIdle?.();
  }

  async #download(plan: JobPlan, file: DayFile): Promise<void> {
    this.#inFlight += 1;
    if (!this.#pool) {
      this.#pool = new DownloadPool(poolLayout(this.#o.workers, this.#o.threads));
      this.#throttleWatch = setInterval(() => this.#watchThrottling(), 50);
    }
    try {
      const result: TaskResult = await this.#pool.run({
        // Undefined offline: the worker then reads the raw mirror only.
        config: this.#config,
        key: file.key,
        day: file.day,
        size: file.size,
        etag: file.etag,
        tickers: plan.symbols.map((s) => s.ticker),
        retries: this.#o.retries,
        minRetryDelayMs: this.#o.retryDelayMs,
        requestTimeoutMs: this.#o.timeoutMs,
        rateLimit: this.#rateLimit,
        throttleSignal: this.#throttleSignal,
        streamAboveBytes: STREAM_ABOVE_BYTES,
        rawDir: this.#o.keepRaw || this.#o.offline ? this.#rawDir() : undefined,
        lastModified: file.lastModified,
      });
      this.#counts.retries += result.retries;
      if (result.throttled === 0) this.#adapt(false);
      if (result.ok) {
        this.#unreachable = 0;
        if (result.fromMirror) this.#fromMirror += 1;
        this.#counts.downloaded += 1;
        if (!result.fromMirror) this.#counts.bytes += result.bytes;
        this.#counts.bars += result.rows.length;
        this.#malformed += result.malformed;
        this.#duplicates += result.duplicates;
        this.#pending.push({ plan, file, result });
        if (this.#pending.length >= FLUSH_EVERY) this.#flush();
        else this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
      } else if (result.code === 'ERR_ABORTED') {
        // Stopped by the run's abort: neither done nor failed, the next run downloads it again.
      } else {
        this.#counts.failed += 1;
        this.#failedJobs.add(plan.job);
        const failure = { key: result.key, code: result.code, message: result.message };
        this.#failures.push(failure);
        this.#o.onProgress?.({ type: 'failure', ...failure });
        // Retrying other keys cannot fix these: stop the run early with one clear error.
        if (result.code === 'ERR_NOT_ENTITLED') this.#fail(new NotEntitledError(plan.dataset, file.key));
        if (result.code === 'ERR_CREDENTIALS') this.#fail(new ConfigurationError(result.message));
        if (result.code === 'ERR_UNREACHABLE' && ++this.#unreachable >= BREAKER_THRESHOLD) {
          this.#fail(
            new PreloadError(
              'ERR_UNREACHABLE',
              `Cannot reach the S3 endpoint ${this.#o.endpoint}: ${this.#unreachable} files in a row could not connect. Stopped; the progress made so far is kept, run the same command again to resume.`,
            ),
          );
        }
      }
    } catch (error) {
      // An aborted task is neither done nor failed: the next run downloads it again.
      if (!this.#controller.signal.aborted) this.#fail(error);
    } finally {
      this.#inFlight -= 1;
      this.#emitProgress();
      this.#pump();
    }
  }

  /** Reads the workers' shared throttle counter: any new 503 SlowDown lowers the limit now. */
  #watchThrottling(): void {
    const seen = Atomics.load(new Int32Array(this.#throttleSignal), 0);
    if (seen > this.#throttlesSeen) this.#adapt(true);
    this.#throttlesSeen = seen;
  }

  /**
   * Adaptive concurrency (AIMD): a throttled answer halves the downloads in flight, at most once
   * per half second (answers to requests sent before the cut would halve it again); then each
   * run of calm completions as long as the limit raises it by one, back to `workers`.
   */
  #adapt(throttled: boolean): void {
    const c = this.#counts;
    if (throttled) {
      this.#calmSuccesses = 0;
      const now = performance.now();
      if (now - this.#lastThrottle >= 500) {
        this.#lastThrottle = now;
        c.inFlightLimit = Math.max(1, Math.floor(c.inFlightLimit / 2));
      }
    } else if (c.inFlightLimit < this.#o.workers && ++this.#calmSuccesses >= c.inFlightLimit) {
      this.#calmSuccesses = 0;
      c.inFlightLimit += 1;
    }
  }

  #fail(error: unknown): void {
    if (this.#fatal === undefined && !(this.#controller.signal.aborted && isAbort(error))) {
      this.#fatal = error instanceof PreloadError ? error : new PreloadError('ERR_UNEXPECTED', String((error as Error)?.message ?? error), { cause: error });
    }
    this.#controller.abort();
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#onIdle = resolve;
      this.#pump();
    });
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#commit(batch);
  }

  #emitProgress(): void {
    this.#o.onProgress?.({ type: 'progress', ...this.#counts });
  }

  /** A window is known complete for a symbol once every listed day of it is ingested. */
  #recordCoverage(starts: Map<JobPlan, string>): void {
    for (const plan of this.#plans) {
      const start = starts.get(plan);
      if (start === undefined || this.#failedJobs.has(plan.job) || plan.publishedEnd < start) continue;
      for (const s of plan.symbols) this.#bars.addCoverage(s.ticker, plan.interval, start, plan.publishedEnd);
    }
  }

  #report(starts: Map<JobPlan, string>, started: number): PreloadReport {
    const c = this.#counts;
    const startDays = this.#plans.map((p) => starts.get(p) ?? p.start ?? p.end).sort();
    const start = startDays[0] ?? '';
    const end = this.#plans.map((p) => p.end).sort().at(-1) ?? '';
    let first: number | undefined;
    let last: number | undefined;
    for (const plan of this.#plans) {
      for (const s of plan.symbols) {
        const bars = this.#bars.read(s.ticker, plan.interval, starts.get(plan) ?? start, plan.end);
        const a = bars[0]?.time;
        const b = bars.at(-1)?.time;
        if (a !== undefined && (first === undefined || a < first)) first = a;
        if (b !== undefined && (last === undefined || b > last)) last = b;
      }
    }
    return {
      symbols: this.#plans.flatMap((p) => p.symbols.map((s) => s.symbol)),
      dataset: this.#plans.map((p) => p.dataset).join(','),
      start,
      end,
      files: { listed: c.listed, downloaded: c.downloaded, skipped: c.skipped, failed: c.failed },
      bytes: c.bytes,
      bars: c.bars,
      barRange: first === undefined || last === undefined ? null : { first: new Date(first).toISOString(), last: new Date(last).toISOString() },
      elapsedMs: Math.round(performance.now() - started),
      failures: this.#failures,
      retries: c.retries,
      republished: c.republished,
      fromRawMirror: this.#fromMirror,
      notes: this.#notes,
      malformedRows: this.#malformed,
      duplicateRows: this.#duplicates,
    };
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

/** Forgets a job: its done keys, and the ingested days and complete windows of its tickers. */
export function clearJob(progress: ProgressStore, bars: BarStore, job: string, tickers: readonly string[], interval: string): number {
  for (const t of tickers) bars.clearSymbol(t, interval);
  return progress.clear(job);
}
