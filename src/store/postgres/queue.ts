// One process's part in a run on a PostgreSQL store: its session (which holds its advisory lock,
// so its claims live exactly as long as it), its heartbeat, and the claims on files: offer, claim,
// fail, release. A lost session (a server restart, a terminated backend) is replaced: the process
// registers again under a new id and takes back the files it still held that nobody else took.
// The merge, the sinks of large files and the shared rate are their own modules; the statements
// are sql/processes.ts's and sql/claims.ts's.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { PreloadError, StoreError } from '../../errors.js';
import type { DayFile, JobCounts } from '../../types.js';
import type { CompletedFile, FileSink, JobSpec, ProcessInfo, WorkItem, WorkQueue } from '../types.js';
import { describeError, isConnectionError, retryDelay, type Db } from './db.js';
import { completeFiles } from './merge.js';
import { SharedRate } from './rate.js';
import { openSink, sweepSinks } from './sink.js';
import { toWorkItems } from './rows.js';
import { claimFiles, failClaim, offerFiles, releaseClaims, remaining } from './sql/claims.js';
import { jobCounts, jobProcesses } from './sql/live.js';
import { lockProcess, lockRegistryShared } from './sql/locks.js';
import { adoptClaims, endProcess, heartbeat, insertProcess, setKeepalives } from './sql/processes.js';
import { dropTickerIndex, REBUILD_FROM_FILES, TICKER_INDEX_INTERVAL } from './sql/ticker-index.js';
import { begin, commit } from './sql/transaction.js';

/** How long a process's claims outlive its last heartbeat, how often it beats, and how long a lost store is waited for. */
export interface QueueTiming {
  leaseMs: number;
  heartbeatMs: number;
  /** A lost session is replaced (and a lost statement retried) for up to this long; 0: not at all. */
  storeTimeoutMs: number;
}

/** A session registered as one process: its row in `processes` and its advisory lock. */
interface Registration {
  session: pg.Client;
  id: number;
}

/** Opens a session, registers it on `jobs` and takes its advisory lock. The session is closed again on failure; errors as they are. */
async function register(db: Db, jobs: readonly string[]): Promise<Registration> {
  const session = await db.session();
  try {
    await setKeepalives(session);
    // One transaction under the registry lock, shared: a clear of the job's progress (clear.ts)
    // either sees this process live or has committed before it registers, never in between.
    // (A session lock taken in a transaction outlives its commit.)
    await begin(session);
    await lockRegistryShared(session);
    const id = await insertProcess(session, jobs, hostname(), process.pid);
    await lockProcess(session, id);
    await commit(session);
    return { session, id };
  } catch (error) {
    await session.end().catch(() => {});
    throw error;
  }
}

/**
 * Registers this process on `jobs` and takes its advisory lock on a session of its own.
 * @throws {StoreError} the session could not be opened or set up (it is closed again).
 */
export async function openPostgresQueue(db: Db, jobs: readonly JobSpec[], timing: QueueTiming): Promise<WorkQueue> {
  const names = jobs.map((j) => j.job);
  const { session, id } = await db.retry(() => register(db, names));
  try {
    const rate = new SharedRate(db, names);
    // The staging tables of processes that died mid-file: never merged, dropped here.
    await sweepSinks(db, timing.leaseMs);
    const queue = new PostgresQueue(db, session, id, jobs, timing, rate);
    await rate.calibrate(session);
    return queue;
  } catch (error) {
    await session.end().catch(() => {});
    throw db.storeError(error);
  }
}

/** One process's part in a run on a PostgreSQL store. Open it with {@link openPostgresQueue}. */
class PostgresQueue implements WorkQueue {
  readonly #db: Db;
  readonly #jobs: string[];
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #rate: SharedRate;
  readonly #heartbeat: NodeJS.Timeout;
  #session: pg.Client;
  #id: number;
  /** The ids this process had before it registered again: files they still own are taken back. */
  readonly #formerIds: number[] = [];
  /** Files claimed and not yet completed, failed or released (`job\nkey`): any other file claimed under our id is taken again. */
  readonly #held = new Set<string>();
  /** Why the session was lost, and when; undefined while it holds. */
  #lost: { error: unknown; at: number } | undefined;
  /** The replacement of a lost session, while one runs. */
  #reconnecting: Promise<void> | undefined;
  /** The store stayed away past the timeout (or refused us): every later call fails with this. */
  #fatal: PreloadError | undefined;
  /** The heartbeat in flight, if any: close() lets it finish before ending the session. */
  #beating: Promise<void> | undefined;
  #closed = false;
  /** Whole-market day files offered to this run: from REBUILD_FROM_FILES its commits drop the index by ticker. */
  #offeredAll = 0;

  constructor(db: Db, session: pg.Client, id: number, jobs: readonly JobSpec[], timing: QueueTiming, rate: SharedRate) {
    this.#db = db;
    this.#session = session;
    this.#id = id;
    this.#jobs = jobs.map((j) => j.job);
    this.#leaseMs = timing.leaseMs;
    this.#timeoutMs = timing.storeTimeoutMs;
    this.#rate = rate;
    this.#watch(session);
    this.#heartbeat = setInterval(() => this.#tick(), timing.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** This process's id in `processes`: a new one after each lost session. */
  get processId(): number {
    return this.#id;
  }

  /**
   * A dropped session means our lock is gone and others may take our files: nothing more is done
   * under its id. The next call (or heartbeat) registers again.
   */
  #watch(session: pg.Client): void {
    const lose = (error: unknown) => {
      if (session === this.#session) this.#lose(error ?? new Error('the session ended'));
    };
    session.on('error', lose);
    session.on('end', () => lose(new Error('the session with the store ended')));
  }

  #lose(error: unknown): void {
    if (!this.#closed) this.#lost ??= { error, at: Date.now() };
  }

  /** Starts a heartbeat unless one is in flight (a slow one is not stacked on); replaces a lost session. */
  #tick(): void {
    if (this.#beating !== undefined || this.#fatal !== undefined || this.#closed) return;
    // Lost: registering again soon makes others less likely to take over what we hold (a failure
    // is kept in #fatal, and the next call reports it).
    const beat = this.#lost === undefined ? this.#beat() : this.#ready().catch(() => undefined);
    this.#beating = beat.finally(() => {
      this.#beating = undefined;
    });
  }

  /** One heartbeat; never rejects: a failed one means the session, and with it the claims, is lost. */
  async #beat(): Promise<void> {
    const session = this.#session;
    try {
      await heartbeat(session, this.#id);
    } catch (error) {
      if (session === this.#session) this.#lose(error);
    }
  }

  /** Resolves once the session holds (replacing a lost one first); rejects once the store stayed away too long. */
  async #ready(): Promise<void> {
    if (this.#fatal !== undefined) throw this.#fatal;
    if (this.#lost === undefined) return;
    this.#reconnecting ??= this.#reconnect().finally(() => {
      this.#reconnecting = undefined;
    });
    await this.#reconnecting;
  }

  /**
   * Registers again (a new session, `processes` row and lock), with backoff, until the timeout from
   * when the session was lost. Then takes back the files still owned by a former id (a file another
   * process took over meanwhile is now theirs, and stays so) and ends the former rows.
   */
  async #reconnect(): Promise<void> {
    const lost = this.#lost;
    if (lost === undefined) return;
    if (this.#timeoutMs === 0) {
      this.#fatal = this.#lostError(lost.error);
      throw this.#fatal;
    }
    for (let n = 0; ; n++) {
      if (this.#closed) throw this.#lostError(lost.error);
      let error: unknown;
      try {
        const next = await register(this.#db, this.#jobs);
        const former = [...this.#formerIds, this.#id];
        try {
          await adoptClaims(next.session, next.id, former);
        } catch (adoptError) {
          await next.session.end().catch(() => {});
          throw adoptError;
        }
        if (this.#closed) {
          await next.session.end().catch(() => {});
          throw this.#lostError(lost.error);
        }
        const old = this.#session;
        this.#formerIds.push(this.#id);
        this.#session = next.session;
        this.#id = next.id;
        this.#watch(next.session);
        this.#lost = undefined;
        await old.end().catch(() => {});
        return;
      } catch (e) {
        error = e;
      }
      if (error instanceof PreloadError && error.code !== 'ERR_STORE') throw error;
      const left = lost.at + this.#timeoutMs - Date.now();
      if (!isConnectionError(error) || left <= 0) {
        this.#fatal = isConnectionError(error) ? this.#awayError(error, lost) : this.#db.storeError(error);
        throw this.#fatal;
      }
      await sleep(Math.min(retryDelay(n), left));
    }
  }

  #lostError(cause: unknown): StoreError {
    return new StoreError(
      this.#db.where,
      `PostgreSQL store ${this.#db.where}: lost the session that holds this process's claims (${describeError(cause)})`,
      { cause },
    );
  }

  #awayError(error: unknown, lost: { error: unknown; at: number }): PreloadError {
    return this.#db.awayError(error, lost.at);
  }

  /**
   * Runs one operation under the current id once the session holds. A statement whose connection
   * was lost is tried again, under the id of the session that holds by then (never the lost one's),
   * for up to the timeout from its first failure.
   */
  async #run<T>(op: (id: number) => Promise<T>): Promise<T> {
    let since: number | undefined;
    for (let n = 0; ; n++) {
      await this.#ready();
      try {
        return await this.#db.withoutRetry(() => op(this.#id));
      } catch (error) {
        if (this.#closed || !this.#db.reached || !isConnectionError(error)) throw error;
        since ??= Date.now();
        const left = since + this.#timeoutMs - Date.now();
        if (left <= 0) throw this.#db.awayError(error, since);
        await sleep(Math.min(retryDelay(n), left));
      }
    }
  }

  async offer(job: JobSpec, files: readonly DayFile[]): Promise<void> {
    const unique = [...new Map(files.map((f) => [f.key, f])).values()];
    if (unique.length === 0) return this.#ready();
    if (job.all && job.interval === TICKER_INDEX_INTERVAL) this.#offeredAll += unique.length;
    await this.#run(() => offerFiles(this.#db, job.job, unique));
  }

  async claim(n: number): Promise<WorkItem[]> {
    if (n <= 0) {
      await this.#ready();
      return [];
    }
    // A file claimed under our id that we do not hold is ours to take again (sql/claims.ts).
    const rows = await this.#run((id) => claimFiles(this.#db, { jobs: this.#jobs, leaseMs: this.#leaseMs, owner: id, n, held: [...this.#held] }));
    const items = toWorkItems(rows);
    for (const item of items) this.#held.add(heldKey(item));
    return items;
  }

  async fail(item: WorkItem, failure: { code: string; message: string }): Promise<void> {
    // Under the current id only: a file another process took over while we were away stays theirs.
    await this.#run((id) => failClaim(this.#db, item.job, item.file.key, id, failure));
    this.#held.delete(heldKey(item));
  }

  async release(items: readonly WorkItem[]): Promise<void> {
    if (items.length === 0) return this.#ready();
    await this.#run((id) => releaseClaims(this.#db, id, items.map((i) => ({ job: i.job, key: i.file.key }))));
    for (const item of items) this.#held.delete(heldKey(item));
  }

  async openFile(job: JobSpec, file: DayFile, opts: { replaces?: boolean | undefined } = {}): Promise<FileSink> {
    await this.#bulkLoading([job]);
    const host = { db: this.#db, run: <T>(op: (id: number) => Promise<T>) => this.#run(op), done: (j: string, key: string) => this.#held.delete(`${j}\n${key}`) };
    return openSink(host, job, file, opts.replaces === true);
  }

  async remaining(): Promise<{ pending: number; claimedByOthers: number }> {
    const row = await this.#run((id) => remaining(this.#db, this.#jobs, this.#leaseMs, id));
    return { pending: row?.pending ?? 0, claimedByOthers: row?.others ?? 0 };
  }

  /**
   * A batch whose connection was lost is merged again once the session holds: a file that did
   * commit (or that another process finished meanwhile) is then skipped by its ETag.
   */
  async complete(batch: readonly CompletedFile[]): Promise<void> {
    await this.#bulkLoading(batch.map((b) => b.job));
    await this.#run((id) => completeFiles(this.#db, id, batch));
    for (const b of batch) this.#held.delete(`${b.job.job}\n${b.file.key}`);
  }

  /**
   * A large whole-market load of day bars drops the index by ticker before it merges (where it is:
   * a server may have built it meanwhile), rather than keep it up row by row; buildReadIndex builds
   * it again (sql/ticker-index.ts). A drop that fails (a lock, a deadlock with a build) leaves it
   * kept up: slower merges, the same rows; a lost store is the merge's to report.
   */
  async #bulkLoading(jobs: readonly JobSpec[]): Promise<void> {
    if (this.#offeredAll < REBUILD_FROM_FILES || !jobs.some((j) => j.all && j.interval === TICKER_INDEX_INTERVAL)) return;
    await dropTickerIndex(this.#db).catch(() => false);
  }

  async counts(): Promise<JobCounts> {
    return this.#run(() => jobCounts(this.#db, this.#jobs, this.#leaseMs));
  }

  async processes(): Promise<ProcessInfo[]> {
    return jobProcesses(this.#db, this.#jobs, this.#leaseMs);
  }

  /** Slots of the rate shared with every process on these jobs (see {@link SharedRate.slots}). */
  rateSlots = async (rps: number, n: number): Promise<number[]> => this.#run(() => this.#rate.slots(rps, n));

  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#heartbeat);
    this.#closed = true;
    try {
      // A replacement under way stops at its next attempt (or hands over the session it made).
      await this.#reconnecting?.catch(() => undefined);
      // The session's end drops the lock anyway; releasing first lets others take the files now.
      if (this.#lost === undefined && this.#fatal === undefined) {
        await releaseClaims(this.#db, this.#id, undefined);
        await endProcess(this.#db, this.#id);
      }
    } finally {
      await this.#beating;
      await this.#session.end().catch(() => {});
    }
  }
}

function heldKey(item: WorkItem): string {
  return `${item.job}\n${item.file.key}`;
}
