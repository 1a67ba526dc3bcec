// One process's part in a run on a PostgreSQL store: its session (which holds its advisory lock,
// so its claims live exactly as long as it), its heartbeat, and the claims on files: offer, claim,
// fail, release. The merge and the shared rate are their own modules.
import { hostname } from 'node:os';
import type pg from 'pg';
import { StoreError } from '../../errors.js';
import type { DayFile, JobCounts } from '../../types.js';
import type { CompletedFile, JobSpec, ProcessInfo, WorkItem, WorkQueue } from '../types.js';
import { describeError, type Db } from './db.js';
import { LIVE_SQL, jobCounts, jobProcesses } from './live.js';
import { completeFiles } from './merge.js';
import { SharedRate } from './rate.js';
import { toWorkItems, type FileRow } from './rows.js';
import { LOCK_NAMESPACE, REGISTRY_LOCK } from './schema.js';

/** How long a process's claims outlive its last heartbeat, and how often it beats. */
export interface QueueTiming {
  leaseMs: number;
  heartbeatMs: number;
}

/**
 * Registers this process on `jobs` and takes its advisory lock on a session of its own.
 * @throws {StoreError} the session could not be opened or set up (it is closed again).
 */
export async function openPostgresQueue(db: Db, jobs: readonly JobSpec[], timing: QueueTiming): Promise<WorkQueue> {
  const session = await db.session();
  try {
    // The server notices a peer that vanished (power cut) within ~15 s instead of hours, and
    // then drops the session and its lock.
    await session.query(`SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 5`);
    // One transaction under the registry lock, shared: a clear of the job's progress (clear.ts)
    // either sees this process live or has committed before it registers, never in between.
    // (A session lock taken in a transaction outlives its commit.)
    await session.query('BEGIN');
    await session.query('SELECT pg_advisory_xact_lock_shared($1, $2)', [LOCK_NAMESPACE, REGISTRY_LOCK]);
    const [row] = (
      await session.query<{ id: number }>(
        // clock_timestamp(): now() is the transaction's start, before any wait for a clear.
        'INSERT INTO processes (jobs, host, pid, heartbeat_at) VALUES ($1, $2, $3, clock_timestamp()) RETURNING id',
        [jobs.map((j) => j.job), hostname(), process.pid],
      )
    ).rows;
    if (!row) throw new Error('INSERT INTO processes returned no row');
    await session.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, row.id]);
    await session.query('COMMIT');
    const rate = new SharedRate(db, jobs.map((j) => j.job));
    const queue = new PostgresQueue(db, session, row.id, jobs, timing, rate);
    await rate.calibrate(session);
    return queue;
  } catch (error) {
    await session.end().catch(() => {});
    throw db.storeError(error);
  }
}

/** One process's part in a run on a PostgreSQL store. Open it with {@link openPostgresQueue}. */
class PostgresQueue implements WorkQueue {
  readonly processId: number;
  readonly #db: Db;
  readonly #session: pg.Client;
  readonly #jobs: string[];
  readonly #leaseMs: number;
  readonly #rate: SharedRate;
  readonly #heartbeat: NodeJS.Timeout;
  #lost: unknown;
  /** The heartbeat in flight, if any: close() lets it finish before ending the session. */
  #beating: Promise<void> | undefined;
  #closed = false;

  constructor(db: Db, session: pg.Client, id: number, jobs: readonly JobSpec[], timing: QueueTiming, rate: SharedRate) {
    this.#db = db;
    this.#session = session;
    this.processId = id;
    this.#jobs = jobs.map((j) => j.job);
    this.#leaseMs = timing.leaseMs;
    this.#rate = rate;
    // A dropped session means our lock is gone and others may take our files: every later call
    // fails rather than finish work another process now owns.
    const lose = (error: unknown) => {
      if (!this.#closed) this.#lost ??= error ?? new Error('the session ended');
    };
    session.on('error', lose);
    session.on('end', () => lose(new Error('the session with the store ended')));
    this.#heartbeat = setInterval(() => this.#tick(), timing.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Starts a heartbeat unless one is in flight (a slow one is not stacked on). */
  #tick(): void {
    if (this.#beating !== undefined || this.#lost !== undefined || this.#closed) return;
    this.#beating = this.#beat().finally(() => {
      this.#beating = undefined;
    });
  }

  /** One heartbeat; never rejects: a failed one means the session, and with it the claims, is lost. */
  async #beat(): Promise<void> {
    try {
      await this.#session.query('UPDATE processes SET heartbeat_at = now() WHERE id = $1', [this.processId]);
    } catch (error) {
      this.#lost ??= error;
    }
  }

  #check(): void {
    if (this.#lost !== undefined) {
      throw new StoreError(
        this.#db.where,
        `PostgreSQL store ${this.#db.where}: lost the session that holds this process's claims (${describeError(this.#lost)})`,
        { cause: this.#lost },
      );
    }
  }

  async offer(job: JobSpec, files: readonly DayFile[]): Promise<void> {
    this.#check();
    const unique = [...new Map(files.map((f) => [f.key, f])).values()];
    if (unique.length === 0) return;
    // A failed file, or a done one whose ETag changed (republished), is to do again; a done one
    // with the same ETag stays done. A claimed one stays its owner's, with the newer listing (a
    // process that takes it over fetches what is published now).
    await this.#db.query(
      `INSERT INTO job_files AS f (job, key, day, size, etag, last_modified, state)
       SELECT $1, u.key, u.day, u.size, u.etag, u.last_modified, 'pending'
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS u(key, day, size, etag, last_modified)
       ON CONFLICT (job, key) DO UPDATE SET
         day = excluded.day, size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
         state = CASE WHEN f.state = 'claimed' THEN 'claimed' ELSE 'pending' END,
         owner = CASE WHEN f.state = 'claimed' THEN f.owner END,
         claimed_at = CASE WHEN f.state = 'claimed' THEN f.claimed_at END,
         error_code = NULL, error_message = NULL
       WHERE f.state <> 'done' OR f.etag <> excluded.etag`,
      [
        job.job,
        unique.map((f) => f.key),
        unique.map((f) => f.day),
        unique.map((f) => f.size),
        unique.map((f) => f.etag),
        unique.map((f) => f.lastModified ?? null),
      ],
    );
  }

  async claim(n: number): Promise<WorkItem[]> {
    this.#check();
    if (n <= 0) return [];
    // A fair share: no more than the files left over the live processes on these jobs, less what
    // this process holds, so that a job of a few large files spreads over every process instead
    // of going to whoever claims first. SKIP LOCKED: two processes claiming at once pick disjoint
    // rows instead of waiting.
    const rows = await this.#db.query<FileRow>(
      `WITH live AS (${LIVE_SQL}),
       share AS (
         SELECT LEAST($5::int, GREATEST(0,
           CEIL(COUNT(*)::numeric
                / GREATEST(1, (SELECT COUNT(*) FROM processes p WHERE p.jobs && $1::text[] AND p.id IN (SELECT id FROM live))))::int
           - COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner = $4)::int)) AS n
         FROM job_files f WHERE f.job = ANY($1::text[]) AND f.state IN ('pending', 'claimed')
       ),
       picked AS (
         SELECT f.job, f.key FROM job_files f
         WHERE f.job = ANY($1::text[])
           AND (f.state = 'pending'
             OR (f.state = 'claimed' AND f.owner IS DISTINCT FROM $4 AND NOT EXISTS (SELECT 1 FROM live WHERE live.id = f.owner)))
         ORDER BY f.day, f.key
         LIMIT (SELECT n FROM share)
         FOR UPDATE OF f SKIP LOCKED
       )
       UPDATE job_files f SET state = 'claimed', owner = $4, claimed_at = now()
       FROM picked WHERE f.job = picked.job AND f.key = picked.key
       RETURNING f.job, f.key, f.day, f.size, f.etag, f.last_modified`,
      [this.#jobs, LOCK_NAMESPACE, this.#leaseMs, this.processId, n],
      'pmd_claim',
    );
    return toWorkItems(rows);
  }

  async fail(item: WorkItem, failure: { code: string; message: string }): Promise<void> {
    this.#check();
    await this.#db.query(
      `UPDATE job_files SET state = 'failed', owner = NULL, claimed_at = NULL, error_code = $4, error_message = $5
       WHERE job = $1 AND key = $2 AND state = 'claimed' AND owner = $3`,
      [item.job, item.file.key, this.processId, failure.code, failure.message],
    );
  }

  async release(items: readonly WorkItem[]): Promise<void> {
    this.#check();
    if (items.length === 0) return;
    await this.#releaseWhere(items);
  }

  async #releaseWhere(items: readonly WorkItem[] | undefined): Promise<void> {
    await this.#db.query(
      `UPDATE job_files f SET state = 'pending', owner = NULL, claimed_at = NULL
       WHERE f.state = 'claimed' AND f.owner = $1
         AND ($2::text[] IS NULL OR (f.job, f.key) IN (SELECT * FROM unnest($2::text[], $3::text[])))`,
      [this.processId, items?.map((i) => i.job) ?? null, items?.map((i) => i.file.key) ?? null],
    );
  }

  async remaining(): Promise<{ pending: number; claimedByOthers: number }> {
    this.#check();
    const [row] = await this.#db.query<{ pending: number; others: number }>(
      `WITH live AS (${LIVE_SQL})
       SELECT COUNT(*) FILTER (WHERE f.state = 'pending'
                 OR (f.state = 'claimed' AND f.owner IS DISTINCT FROM $4 AND f.owner NOT IN (SELECT id FROM live))) AS pending,
              COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner IS DISTINCT FROM $4 AND f.owner IN (SELECT id FROM live)) AS others
       FROM job_files f WHERE f.job = ANY($1::text[])`,
      [this.#jobs, LOCK_NAMESPACE, this.#leaseMs, this.processId],
      'pmd_remaining',
    );
    return { pending: row?.pending ?? 0, claimedByOthers: row?.others ?? 0 };
  }

  async complete(batch: readonly CompletedFile[]): Promise<void> {
    this.#check();
    await completeFiles(this.#db, this.processId, batch);
  }

  async counts(): Promise<JobCounts> {
    this.#check();
    return jobCounts(this.#db, this.#jobs, this.#leaseMs);
  }

  async processes(): Promise<ProcessInfo[]> {
    return jobProcesses(this.#db, this.#jobs, this.#leaseMs);
  }

  /** Slots of the rate shared with every process on these jobs (see {@link SharedRate.slots}). */
  rateSlots = async (rps: number, n: number): Promise<number[]> => {
    this.#check();
    return this.#rate.slots(rps, n);
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#heartbeat);
    const lost = this.#lost !== undefined;
    this.#closed = true;
    try {
      // The session's end drops the lock anyway; releasing first lets others take the files now.
      if (!lost) {
        await this.#releaseWhere(undefined);
        await this.#db.query('UPDATE processes SET ended_at = now(), heartbeat_at = now() WHERE id = $1', [this.processId]);
      }
    } finally {
      await this.#beating;
      await this.#session.end().catch(() => {});
    }
  }
}
