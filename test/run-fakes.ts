// Small fakes of our own Store and WorkQueue interfaces for the unit tests of src/run/*: a queue
// that hands out what was offered (FIFO, like the local queue) and logs every call, so a test can
// hold a write back and check what the run does meanwhile. The real stores have their own tests
// (store.test.ts) and the e2e files run the real wiring.
import { resolveOptions, type PreloadOptions, type ResolvedOptions } from '../src/options.js';
import { planJobs, type JobPlan } from '../src/plan.js';
import type { CompletedFile, DoneKey, FileSink, JobSpec, ProcessInfo, Store, WorkItem, WorkQueue } from '../src/store/types.js';
import type { DayFile, FailureCode, JobCounts } from '../src/types.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every callback already queued run (a few turns of the event loop). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export function dayFile(day: string, etag = `e-${day}`, dataset = 'us_stocks_sip/day_aggs_v1'): DayFile {
  return { key: `${dataset}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 100, etag, lastModified: undefined };
}

/** Options as the door resolves them, with no environment. */
export function options(input: PreloadOptions = {}): ResolvedOptions {
  return resolveOptions({ cacheDir: '/nonexistent/pmd-test', start: '2026-01-01', end: '2026-01-31', ...input }, {});
}

export function plans(symbols: string[] = ['TSLA'], input: PreloadOptions = {}): JobPlan[] {
  return planJobs(symbols, options(input));
}

/**
 * A WorkQueue over an array. `hooks` replace a method's behaviour (after the call is logged);
 * `log` holds `method` for every call and `method:done` when an overridden one settles.
 */
export class FakeQueue implements WorkQueue {
  readonly log: string[] = [];
  readonly offered: DayFile[] = [];
  /** The `n` of every claim. */
  readonly claimSizes: number[] = [];
  readonly pending: WorkItem[] = [];
  readonly failed: Array<{ item: WorkItem; failure: { code: FailureCode; message: string } }> = [];
  readonly released: WorkItem[] = [];
  readonly completed: CompletedFile[] = [];
  processId: number | undefined;
  /** Most items one claim hands out (a shared store's fair share). */
  share = Number.POSITIVE_INFINITY;
  jobCounts: JobCounts = { files: 0, done: 0, claimed: 0, failed: 0, pending: 0 };
  hooks: {
    claim?: (n: number) => Promise<WorkItem[]>;
    fail?: (item: WorkItem) => Promise<void>;
    remaining?: () => Promise<{ pending: number; claimedByOthers: number }>;
  } = {};
  rateSlots?: (rps: number, n: number) => Promise<number[]>;
  openFile(): Promise<FileSink> {
    return Promise.reject(new Error('FakeQueue.openFile is not used by these tests'));
  }

  constructor(opts: { processId?: number } = {}) {
    this.processId = opts.processId;
  }

  offer(job: JobSpec, files: readonly DayFile[]): Promise<void> {
    this.log.push('offer');
    this.offered.push(...files);
    this.pending.push(...files.map((file) => ({ job: job.job, file })));
    return Promise.resolve();
  }

  async claim(n: number): Promise<WorkItem[]> {
    this.log.push('claim');
    this.claimSizes.push(n);
    if (this.hooks.claim) return this.hooks.claim(n);
    return this.take(n);
  }

  /** What claim() hands out by default: up to n (and the share) of the pending items. */
  take(n: number): WorkItem[] {
    return this.pending.splice(0, Math.min(n, this.share));
  }

  async fail(item: WorkItem, failure: { code: FailureCode; message: string }): Promise<void> {
    this.log.push('fail');
    this.failed.push({ item, failure });
    if (this.hooks.fail) {
      await this.hooks.fail(item);
      this.log.push('fail:done');
    }
  }

  release(items: readonly WorkItem[]): Promise<void> {
    this.log.push('release');
    this.released.push(...items);
    return Promise.resolve();
  }

  async remaining(): Promise<{ pending: number; claimedByOthers: number }> {
    this.log.push('remaining');
    if (this.hooks.remaining) return this.hooks.remaining();
    return { pending: this.pending.length, claimedByOthers: 0 };
  }

  complete(batch: readonly CompletedFile[]): Promise<void> {
    this.log.push('complete');
    this.completed.push(...batch);
    return Promise.resolve();
  }

  counts(): Promise<JobCounts> {
    this.log.push('counts');
    return Promise.resolve({ ...this.jobCounts });
  }

  processes(): Promise<ProcessInfo[]> {
    this.log.push('processes');
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    this.log.push('close');
    return Promise.resolve();
  }
}

/** A Store with nothing ingested before, whose queue is `queue`; what a run never calls throws. */
export class FakeStore implements Store {
  readonly kind = 'sqlite';
  readonly where = 'fake';
  readonly queue: FakeQueue;
  readonly done = new Map<string, Map<string, DoneKey>>();
  /** By `${ticker}|${interval}`: day to ETag. */
  readonly ingested = new Map<string, Map<string, string>>();
  readonly coverage: string[] = [];
  range: { first: number; last: number } | undefined;

  constructor(queue = new FakeQueue()) {
    this.queue = queue;
  }

  prepareJob(): Promise<void> {
    return Promise.resolve();
  }
  doneKeys(job: string): Promise<Map<string, DoneKey>> {
    return Promise.resolve(this.done.get(job) ?? new Map<string, DoneKey>());
  }
  ingestedDays(symbol: string, interval: string): Promise<Map<string, string>> {
    return Promise.resolve(this.ingested.get(`${symbol}|${interval}`) ?? new Map<string, string>());
  }
  addCoverage(symbol: string, interval: string, start: string, end: string): Promise<void> {
    this.coverage.push(`${symbol} ${interval} ${start}..${end}`);
    return Promise.resolve();
  }
  listSymbols(): Promise<string[]> {
    return Promise.resolve([]);
  }  scanDays(): AsyncIterable<never> {
    throw new Error('not used by runs');
  }
  scanLocation(): undefined {
    return undefined;
  }

  barRange(): Promise<{ first: number; last: number } | undefined> {
    return Promise.resolve(this.range);
  }
  openQueue(): Promise<WorkQueue> {
    return Promise.resolve(this.queue);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  isCovered(): never {
    throw new Error('not used by a run');
  }
  readBars(): never {
    throw new Error('not used by a run');
  }
  getJob(): never {
    throw new Error('not used by a run');
  }
  listJobs(): never {
    throw new Error('not used by a run');
  }
  clearJob(): never {
    throw new Error('not used by a run');
  }
  status(): never {
    throw new Error('not used by a run');
  }
  replaceActions(): never {
    throw new Error('not used by a run');
  }
  getActions(): never {
    throw new Error('not used by a run');
  }
  actionsFetchedAt(): never {
    throw new Error('not used by a run');
  }
}
