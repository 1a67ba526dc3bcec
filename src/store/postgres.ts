// The PostgreSQL store: one database shared by every process on every machine that preloads the
// same jobs. Each day file is claimed by one live process; a process is alive while its database
// session holds its advisory lock (PostgreSQL drops it with the connection: kill -9, power cut)
// and its heartbeat is younger than a lease (the fallback for a hung process).
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PreloadError, StoreError } from '../errors.js';
import type { Bar, DayFile, JobCounts } from '../types.js';
import type {
  CompletedFile,
  DoneKey,
  JobProgress,
  JobSpec,
  JobStatus,
  ProcessInfo,
  Store,
  WorkItem,
  WorkQueue,
} from './types.js';
import { maskUrl, redact } from './url.js';

/** The schema version this code reads and writes. A store of another version is refused. */
export const SCHEMA_VERSION = 1;

/**
 * Migrations keyed by the version they bring the store to, applied in order from the store's
 * version. A later version adds an entry here (and bumps SCHEMA_VERSION); never edit a shipped one.
 */
export const MIGRATIONS: ReadonlyMap<number, string> = new Map([
  [
    1,
    `
CREATE TABLE bars (
  symbol text NOT NULL,
  interval text NOT NULL,
  time bigint NOT NULL,
  -- The day file the bar came from ('YYYY-MM-DD'): a window is a range of files, whatever the time zone.
  day text NOT NULL,
  open float8 NOT NULL,
  high float8 NOT NULL,
  low float8 NOT NULL,
  close float8 NOT NULL,
  volume float8 NOT NULL,
  transactions bigint,
  PRIMARY KEY (symbol, interval, time)
);
CREATE INDEX bars_by_day ON bars (symbol, interval, day);

CREATE TABLE ingested_days (
  symbol text NOT NULL,
  interval text NOT NULL,
  day text NOT NULL,
  dataset text NOT NULL,
  key text NOT NULL,
  etag text NOT NULL,
  rows integer NOT NULL,
  PRIMARY KEY (symbol, interval, day)
);

CREATE TABLE coverage (
  symbol text NOT NULL,
  interval text NOT NULL,
  start text NOT NULL,
  "end" text NOT NULL,
  PRIMARY KEY (symbol, interval, start, "end")
);

CREATE TABLE jobs (
  job text PRIMARY KEY,
  dataset text NOT NULL,
  interval text NOT NULL,
  symbols text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processes (
  id serial PRIMARY KEY,
  jobs text[] NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  files_done integer NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0
);

CREATE TABLE job_files (
  job text NOT NULL,
  key text NOT NULL,
  day text NOT NULL,
  size bigint NOT NULL,
  etag text NOT NULL,
  last_modified text,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
  -- Set while claimed: the processes row of the claimant.
  owner integer,
  claimed_at timestamptz,
  done_at timestamptz,
  done_by integer,
  error_code text,
  error_message text,
  PRIMARY KEY (job, key)
);
-- claim() scans the files still to do of a job, oldest day first.
CREATE INDEX job_files_todo ON job_files (job, day, key) WHERE state IN ('pending', 'claimed');

CREATE TABLE rate_limits (
  name text PRIMARY KEY,
  -- GCRA: the earliest start of the next slot granted to anyone.
  next_at timestamptz NOT NULL
);
`,
  ],
]);

// First key of every advisory lock this library takes (two-int4 form); the second is a process
// id, or 0 for schema creation. 'pmd' in ASCII: unlikely to collide with another application's.
const LOCK_NAMESPACE = 0x706d64;
const SCHEMA_LOCK = 0;

/** Tuning of a PostgreSQL store (tests shorten them). */
export interface PostgresStoreOptions {
  /**
   * A claim whose owner's heartbeat is older than this is taken over even if the owner's session
   * is still open (a hung process).
   * @default 30000
   */
  leaseMs?: number;
  /** @default 2000 */
  heartbeatMs?: number;
  /** Connections of the pool for ordinary queries (each queue adds its own session). @default 4 */
  poolSize?: number;
}

// int8 (COUNT, sizes, bar times) as numbers: every value we store fits in 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Connects to the store at `url`, creates its tables on first use (safe when several processes
 * start at once) and refuses a store of another schema version. Needs PostgreSQL 14 or later
 * (`range_agg` for coverage); tested on 18.
 * @throws {StoreError} unreachable, refused, or another schema version; the message names the masked URL.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 4, connectionTimeoutMillis: 15_000, types });
  // An idle pooled connection cut by a server restart emits 'error': without a listener it would
  // crash the process. The next query fails (and reconnects) instead.
  pool.on('error', () => {});
  const store = new PostgresStore(url, pool, options);
  try {
    await store.ensureSchema();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return store;
}

/** One row of `job_files` as a listing describes it. */
interface FileRow {
  job: string;
  key: string;
  day: string;
  size: number;
  etag: string;
  last_modified: string | null;
}

/** A store shared by processes on several machines. Open it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly #url: string;
  readonly #pool: pg.Pool;
  readonly #options: Required<PostgresStoreOptions>;

  /** @internal Use {@link openPostgresStore}. */
  constructor(url: string, pool: pg.Pool, options: PostgresStoreOptions) {
    this.#url = url;
    this.where = maskUrl(url);
    this.#pool = pool;
    this.#options = { leaseMs: options.leaseMs ?? 30_000, heartbeatMs: options.heartbeatMs ?? 2_000, poolSize: options.poolSize ?? 4 };
  }

  /** @internal Wraps a driver failure in a StoreError naming the masked URL. */
  storeError(error: unknown, connecting = false): PreloadError {
    if (error instanceof PreloadError) return error;
    const head = connecting ? `Cannot connect to the PostgreSQL store ${this.where}` : `PostgreSQL store ${this.where}`;
    return new StoreError(this.where, `${head}: ${redact(describe(error), this.#url)}`, { cause: error });
  }

  /** A pooled connection. While checked out the pool does not listen to its errors: we must. */
  async #connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.#pool.connect();
      // A connection cut mid-query also rejects that query: the error is reported there.
      client.on('error', ignore);
      return client;
    } catch (error) {
      throw this.storeError(error, true);
    }
  }

  /** @internal Runs `fn` on a pooled connection inside one transaction. */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone: do not return it to the pool
      }
      throw this.storeError(error);
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  /** @internal One statement on the pool. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    try {
      // A name makes it a prepared statement on each pooled connection: planned once, not per call.
      return (await this.#pool.query<R>(name === undefined ? { text, values } : { name, text, values })).rows;
    } catch (error) {
      throw this.storeError(error);
    }
  }

  /**
   * @internal One statement on a connection already open, with the local time around it: `mid`
   * (ms) and `rtt`, to map the database's clock to ours.
   */
  async timed<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<(R & { mid: number; rtt: number }) | undefined> {
    const client = await this.#connect();
    try {
      // Date.now(), the clock acquire() compares slots with (performance.timeOrigin + now() may
      // drift from it by milliseconds, differently in each process).
      const before = Date.now();
      const result = await client.query<R>(text, values);
      const after = Date.now();
      const row = result.rows[0];
      return row && { ...row, mid: (before + after) / 2, rtt: after - before };
    } catch (error) {
      throw this.storeError(error);
    } finally {
      client.off('error', ignore);
      client.release();
    }
  }

  /** @internal Creates or checks the schema under a transaction-scoped advisory lock. */
  async ensureSchema(): Promise<void> {
    await this.transaction(async (c) => {
      // Three processes starting at once: one creates the tables, the others wait and find them.
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, SCHEMA_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS pmd_meta (key text PRIMARY KEY, value text NOT NULL)');
      const found = await c.query<{ value: string }>('SELECT value FROM pmd_meta WHERE key = $1', ['schema_version']);
      const raw = found.rows[0]?.value;
      const version = raw === undefined ? 0 : Number(raw);
      if (!Number.isInteger(version) || version < 0 || version > SCHEMA_VERSION) {
        throw new StoreError(
          this.where,
          `The store ${this.where} has schema version ${raw}, and this version of preload-market-data reads version ${SCHEMA_VERSION}: upgrade preload-market-data, or use another database`,
        );
      }
      for (let v = version + 1; v <= SCHEMA_VERSION; v++) {
        const step = MIGRATIONS.get(v);
        if (step === undefined) throw new StoreError(this.where, `No migration to schema version ${v}`);
        await c.query(step);
      }
      await c.query(
        'INSERT INTO pmd_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ['schema_version', String(SCHEMA_VERSION)],
      );
    });
  }

  async prepareJob(job: JobSpec, opts: { clear: boolean }): Promise<void> {
    if (opts.clear) await this.clearJob(job.job, job.tickers, job.interval);
    await this.query(
      `INSERT INTO jobs (job, dataset, interval, symbols) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job) DO UPDATE SET updated_at = now()`,
      [job.job, job.dataset, job.interval, [...job.tickers].sort()],
    );
  }

  async doneKeys(job: string): Promise<Map<string, DoneKey>> {
    const rows = await this.query<FileRow>(
      `SELECT key, size, etag, last_modified FROM job_files WHERE job = $1 AND state = 'done'`,
      [job],
    );
    return new Map(rows.map((r) => [r.key, { key: r.key, size: r.size, etag: r.etag, lastModified: r.last_modified ?? undefined }]));
  }

  async ingestedDays(symbol: string, interval: string, start: string, end: string): Promise<Map<string, string>> {
    const rows = await this.query<{ day: string; etag: string }>(
      'SELECT day, etag FROM ingested_days WHERE symbol = $1 AND interval = $2 AND day >= $3 AND day <= $4',
      [symbol, interval, start, end],
    );
    return new Map(rows.map((r) => [r.day, r.etag]));
  }

  async addCoverage(symbol: string, interval: string, start: string, end: string): Promise<void> {
    await this.query('INSERT INTO coverage (symbol, interval, start, "end") VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      symbol,
      interval,
      start,
      end,
    ]);
  }

  async isCovered(symbol: string, interval: string, start: string, end: string): Promise<boolean> {
    // daterange is discrete: [01-01, 01-10] and [01-11, 01-20] are adjacent, and range_agg joins them.
    const [row] = await this.query<{ covered: boolean | null }>(
      `SELECT range_agg(daterange(start::date, "end"::date, '[]')) @> daterange($3::date, $4::date, '[]') AS covered
       FROM coverage WHERE symbol = $1 AND interval = $2`,
      [symbol, interval, start, end],
    );
    return row?.covered === true;
  }

  async readBars(symbol: string, interval: string, start: string, end: string): Promise<Bar[]> {
    return this.query<Bar>(
      `SELECT time, open, high, low, close, volume, transactions FROM bars
       WHERE symbol = $1 AND interval = $2 AND day >= $3 AND day <= $4 ORDER BY time`,
      [symbol, interval, start, end],
    );
  }

  async barRange(
    symbols: readonly string[],
    interval: string,
    start: string,
    end: string,
  ): Promise<{ first: number; last: number } | undefined> {
    const [row] = await this.query<{ first: number | null; last: number | null }>(
      `SELECT MIN(time) AS first, MAX(time) AS last FROM bars
       WHERE symbol = ANY($1::text[]) AND interval = $2 AND day >= $3 AND day <= $4`,
      [[...symbols], interval, start, end],
    );
    return row?.first == null || row.last == null ? undefined : { first: row.first, last: row.last };
  }

  async getJob(job: string): Promise<JobProgress | undefined> {
    const [row] = await this.query<JobRow>(`${JOB_SELECT} WHERE j.job = $1`, [job]);
    return row && toProgress(row);
  }

  async listJobs(): Promise<JobProgress[]> {
    return (await this.query<JobRow>(`${JOB_SELECT} ORDER BY j.updated_at DESC`)).map(toProgress);
  }

  async clearJob(job: string, tickers: readonly string[], interval: string): Promise<number> {
    return this.transaction(async (c) => {
      const [forgotten] = (
        await c.query<{ done: number }>(
          `WITH gone AS (DELETE FROM job_files WHERE job = $1 RETURNING state)
           SELECT COUNT(*) FILTER (WHERE state = 'done') AS done FROM gone`,
          [job],
        )
      ).rows;
      await c.query('DELETE FROM ingested_days WHERE symbol = ANY($1::text[]) AND interval = $2', [[...tickers], interval]);
      await c.query('DELETE FROM coverage WHERE symbol = ANY($1::text[]) AND interval = $2', [[...tickers], interval]);
      await c.query('DELETE FROM jobs WHERE job = $1', [job]);
      return forgotten?.done ?? 0;
    });
  }

  async status(): Promise<JobStatus[]> {
    const jobs = await this.query<{ job: string; dataset: string; interval: string; symbols: string[] }>(
      'SELECT job, dataset, interval, symbols FROM jobs ORDER BY updated_at DESC',
    );
    const result: JobStatus[] = [];
    for (const j of jobs) {
      const counts = await this.counts([j.job]);
      const processes = await this.processes([j.job]);
      const rate = processes.filter((p) => p.alive).reduce((sum, p) => sum + p.filesPerSecond, 0);
      const left = counts.pending + counts.claimed;
      const etaMs = left === 0 ? 0 : rate > 0 ? Math.round((left / rate) * 1000) : undefined;
      result.push({ ...j, ...counts, processes, etaMs, shared: true });
    }
    return result;
  }

  /** @internal Whole-job counts; a file claimed by a dead owner counts as pending. */
  async counts(jobs: readonly string[]): Promise<JobCounts> {
    const [row] = await this.query<{ files: number; done: number; failed: number; claimed: number }>(
      `SELECT COUNT(*) AS files,
              COUNT(*) FILTER (WHERE f.state = 'done') AS done,
              COUNT(*) FILTER (WHERE f.state = 'failed') AS failed,
              COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner IN (${LIVE_SQL})) AS claimed
       FROM job_files f WHERE f.job = ANY($1::text[])`,
      [[...jobs], LOCK_NAMESPACE, this.#options.leaseMs],
    );
    const files = row?.files ?? 0;
    const done = row?.done ?? 0;
    const failed = row?.failed ?? 0;
    const claimed = row?.claimed ?? 0;
    return { files, done, failed, claimed, pending: files - done - failed - claimed };
  }

  /** @internal The processes that took part in any of `jobs`. */
  async processes(jobs: readonly string[]): Promise<ProcessInfo[]> {
    const rows = await this.query<ProcessRow>(
      `SELECT p.id, p.host, p.pid, p.started_at, p.heartbeat_at, p.ended_at, p.files_done, p.bytes,
              p.id IN (${LIVE_SQL}) AS alive,
              EXTRACT(EPOCH FROM (COALESCE(p.ended_at, now()) - p.started_at))::float8 AS seconds
       FROM processes p WHERE p.jobs && $1::text[] ORDER BY p.id`,
      [[...jobs], LOCK_NAMESPACE, this.#options.leaseMs],
    );
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      startedAt: r.started_at.toISOString(),
      heartbeatAt: r.heartbeat_at.toISOString(),
      endedAt: r.ended_at?.toISOString(),
      alive: r.alive,
      filesDone: r.files_done,
      bytes: r.bytes,
      filesPerSecond: r.seconds > 0 ? r.files_done / r.seconds : 0,
    }));
  }

  async openQueue(jobs: readonly JobSpec[]): Promise<WorkQueue> {
    // The session that holds this process's advisory lock: its claims live exactly as long as it.
    const session = new pg.Client({ connectionString: this.#url, types, keepAlive: true });
    session.on('error', ignore); // until the queue listens: a failed call reports it
    try {
      await session.connect();
    } catch (error) {
      throw this.storeError(error, true);
    }
    try {
      // The server notices a peer that vanished (power cut) within ~15 s instead of hours, and
      // then drops the session and its lock.
      await session.query(`SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 5`);
      const [row] = (
        await session.query<{ id: number }>('INSERT INTO processes (jobs, host, pid) VALUES ($1, $2, $3) RETURNING id', [
          jobs.map((j) => j.job),
          hostname(),
          process.pid,
        ])
      ).rows;
      if (!row) throw new Error('INSERT INTO processes returned no row');
      await session.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, row.id]);
      const queue = new PostgresQueue(this, session, row.id, jobs, this.#options);
      await queue.calibrate();
      return queue;
    } catch (error) {
      await session.end().catch(() => {});
      throw this.storeError(error);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** Pool connections whose session has the `pmd_incoming` temporary table (created and committed). */
const INCOMING_READY = new WeakSet<pg.PoolClient>();

// Ids of the live processes: the session holding their advisory lock is open and their heartbeat
// is younger than the lease. Parameters: $2 the lock namespace, $3 the lease in ms.
const LIVE_SQL = `
  SELECT p.id FROM processes p
  JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = $2::int::oid AND l.objid = p.id::oid AND l.objsubid = 2
  WHERE p.ended_at IS NULL AND p.heartbeat_at > clock_timestamp() - $3::int * interval '1 millisecond'`;

const JOB_SELECT = `
  SELECT j.job, j.dataset, j.interval, j.symbols, j.created_at, j.updated_at,
         COALESCE(d.done, 0) AS done, COALESCE(d.bytes, 0) AS bytes
  FROM jobs j LEFT JOIN (
    SELECT job, COUNT(*) AS done, SUM(size)::bigint AS bytes FROM job_files WHERE state = 'done' GROUP BY job
  ) d ON d.job = j.job`;

interface JobRow {
  job: string;
  dataset: string;
  interval: string;
  symbols: string[];
  created_at: Date;
  updated_at: Date;
  done: number;
  bytes: number;
}

interface ProcessRow {
  id: number;
  host: string;
  pid: number;
  started_at: Date;
  heartbeat_at: Date;
  ended_at: Date | null;
  files_done: number;
  bytes: number;
  alive: boolean;
  seconds: number;
}

function toProgress(r: JobRow): JobProgress {
  return {
    job: r.job,
    dataset: r.dataset,
    interval: r.interval,
    symbols: r.symbols,
    doneKeys: r.done,
    bytes: r.bytes,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** One process's part in a run on a PostgreSQL store. */
class PostgresQueue implements WorkQueue {
  readonly processId: number;
  readonly #store: PostgresStore;
  readonly #session: pg.Client;
  readonly #jobs: string[];
  readonly #leaseMs: number;
  readonly #heartbeat: NodeJS.Timeout;
  #lost: unknown;
  #beating = false;
  #closed = false;
  #bestRtt = Infinity;
  #offset = 0;

  constructor(store: PostgresStore, session: pg.Client, id: number, jobs: readonly JobSpec[], options: Required<PostgresStoreOptions>) {
    this.#store = store;
    this.#session = session;
    this.processId = id;
    this.#jobs = jobs.map((j) => j.job);
    this.#leaseMs = options.leaseMs;
    // A dropped session means our lock is gone and others may take our files: every later call
    // fails rather than finish work another process now owns.
    const lose = (error: unknown) => {
      if (!this.#closed) this.#lost ??= error ?? new Error('the session ended');
    };
    session.on('error', lose);
    session.on('end', () => lose(new Error('the session with the store ended')));
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /**
   * @internal Measures the offset of the database's clock to ours from a few round trips, keeping
   * the fastest (its midpoint is closest to when the database read its clock), as NTP does.
   */
  async calibrate(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      const { rows } = await this.#session.query<{ db_now_ms: number }>(
        'SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 * 1000 AS db_now_ms',
      );
      const after = Date.now();
      const dbNow = rows[0]?.db_now_ms;
      if (dbNow !== undefined) this.#measured(dbNow, (before + after) / 2, after - before);
    }
  }

  #measured(dbNow: number, localMid: number, rtt: number): void {
    if (rtt >= this.#bestRtt) return;
    this.#bestRtt = rtt;
    this.#offset = dbNow - localMid;
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#lost !== undefined || this.#closed) return;
    this.#beating = true;
    try {
      await this.#session.query('UPDATE processes SET heartbeat_at = now() WHERE id = $1', [this.processId]);
    } catch (error) {
      this.#lost ??= error;
    } finally {
      this.#beating = false;
    }
  }

  #check(): void {
    if (this.#lost !== undefined) {
      throw new StoreError(
        this.#store.where,
        `PostgreSQL store ${this.#store.where}: lost the session that holds this process's claims (${describe(this.#lost)})`,
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
    await this.#store.query(
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
    const rows = await this.#store.query<FileRow>(
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
    return rows
      .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => ({ job: r.job, file: { key: r.key, day: r.day, size: r.size, etag: r.etag, lastModified: r.last_modified ?? undefined } }));
  }

  async fail(item: WorkItem, failure: { code: string; message: string }): Promise<void> {
    this.#check();
    await this.#store.query(
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
    await this.#store.query(
      `UPDATE job_files f SET state = 'pending', owner = NULL, claimed_at = NULL
       WHERE f.state = 'claimed' AND f.owner = $1
         AND ($2::text[] IS NULL OR (f.job, f.key) IN (SELECT * FROM unnest($2::text[], $3::text[])))`,
      [this.processId, items?.map((i) => i.job) ?? null, items?.map((i) => i.file.key) ?? null],
    );
  }

  async remaining(): Promise<{ pending: number; claimedByOthers: number }> {
    this.#check();
    const [row] = await this.#store.query<{ pending: number; others: number }>(
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
    if (batch.length === 0) return;
    let created: pg.PoolClient | undefined;
    await this.#store.transaction(async (c) => {
      // Lock the batch's rows; a file another process already finished with this ETag is skipped
      // (its bars are in): no file is done twice.
      const locked = await c.query<{ job: string; key: string; state: string; etag: string }>({
        name: 'pmd_lock_files',
        text: `SELECT f.job, f.key, f.state, f.etag FROM job_files f
         WHERE (f.job, f.key) IN (SELECT * FROM unnest($1::text[], $2::text[])) FOR UPDATE`,
        values: [batch.map((b) => b.job.job), batch.map((b) => b.file.key)],
      });
      const finished = new Set(locked.rows.filter((r) => r.state === 'done').map((r) => `${r.job}\n${r.key}\n${r.etag}`));
      const todo = batch.filter((b) => !finished.has(`${b.job.job}\n${b.file.key}\n${b.file.etag}`));
      if (todo.length === 0) return;

      // Each connection of the pool keeps its own temporary table, emptied at every commit: one
      // round trip less per transaction than creating and dropping it each time.
      if (!INCOMING_READY.has(c)) {
        await c.query(
          `CREATE TEMP TABLE IF NOT EXISTS pmd_incoming (
             seq bigint, symbol text, interval text, time bigint, day text,
             open float8, high float8, low float8, close float8, volume float8, transactions bigint
           ) ON COMMIT DELETE ROWS`,
        );
        created = c;
      }
      await pipeline(Readable.from(copyLines(todo)), c.query(copyFrom('COPY pmd_incoming FROM STDIN')));

      // One (symbol, interval, day) per ticker of each file's job: its day is replaced, and its
      // ingested_days row written (0 rows for a ticker absent from the file: a halt).
      const days = new Map<string, { symbol: string; interval: string; day: string; dataset: string; key: string; etag: string; rows: number }>();
      for (const b of todo) {
        const counts = new Map<string, number>();
        for (const r of b.rows) counts.set(r.ticker, (counts.get(r.ticker) ?? 0) + 1);
        for (const symbol of b.job.tickers) {
          days.set(`${symbol}\n${b.job.interval}\n${b.file.day}`, {
            symbol,
            interval: b.job.interval,
            day: b.file.day,
            dataset: b.job.dataset,
            key: b.file.key,
            etag: b.file.etag,
            rows: counts.get(symbol) ?? 0,
          });
        }
      }
      const d = [...days.values()];
      const cols = [d.map((x) => x.symbol), d.map((x) => x.interval), d.map((x) => x.day)];
      await c.query({
        name: 'pmd_delete_days',
        text: `DELETE FROM bars b USING unnest($1::text[], $2::text[], $3::text[]) AS d(symbol, interval, day)
         WHERE b.symbol = d.symbol AND b.interval = d.interval AND b.day = d.day`,
        values: cols,
      });
      // DISTINCT ON: a (symbol, interval, time) twice in the batch keeps the last, as sequential
      // upserts would (ON CONFLICT may not touch one row twice in a statement).
      await c.query({
        name: 'pmd_merge_bars',
        text: `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
         SELECT DISTINCT ON (symbol, interval, time) symbol, interval, time, day, open, high, low, close, volume, transactions
         FROM pmd_incoming ORDER BY symbol, interval, time, seq DESC
         ON CONFLICT (symbol, interval, time) DO UPDATE SET
           day = excluded.day, open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
           volume = excluded.volume, transactions = excluded.transactions`,
      });
      // The bookkeeping in one statement (data-modifying CTEs run to completion whether or not
      // they are read): the ingested days, the files done and their claims released, this
      // process's counters and the jobs' updated_at.
      const files = [...new Map(todo.map((b) => [`${b.job.job}\n${b.file.key}`, b])).values()];
      await c.query({
        name: 'pmd_mark_done',
        text: `WITH ingested AS (
           INSERT INTO ingested_days (symbol, interval, day, dataset, key, etag, rows)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
           ON CONFLICT (symbol, interval, day) DO UPDATE SET
             dataset = excluded.dataset, key = excluded.key, etag = excluded.etag, rows = excluded.rows
           RETURNING 1
         ), done AS (
           INSERT INTO job_files AS f (job, key, day, size, etag, last_modified, state, done_at, done_by)
           SELECT u.job, u.key, u.day, u.size, u.etag, u.last_modified, 'done', now(), $14
           FROM unnest($8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[]) AS u(job, key, day, size, etag, last_modified)
           ON CONFLICT (job, key) DO UPDATE SET
             day = excluded.day, size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
             state = 'done', owner = NULL, claimed_at = NULL, done_at = now(), done_by = $14, error_code = NULL, error_message = NULL
           RETURNING 1
         ), counted AS (
           UPDATE processes SET files_done = files_done + $15, bytes = bytes + $16 WHERE id = $14
           RETURNING 1
         )
         UPDATE jobs SET updated_at = now() WHERE job = ANY($17::text[])`,
        values: [
          ...cols,
          d.map((x) => x.dataset),
          d.map((x) => x.key),
          d.map((x) => x.etag),
          d.map((x) => x.rows),
          files.map((b) => b.job.job),
          files.map((b) => b.file.key),
          files.map((b) => b.file.day),
          files.map((b) => b.file.size),
          files.map((b) => b.file.etag),
          files.map((b) => b.file.lastModified ?? null),
          this.processId,
          files.length,
          files.reduce((sum, b) => sum + b.file.size, 0),
          [...new Set(files.map((b) => b.job.job))],
        ],
      });
    });
    if (created) INCOMING_READY.add(created);
  }

  async counts(): Promise<JobCounts> {
    this.#check();
    return this.#store.counts(this.#jobs);
  }

  async processes(): Promise<ProcessInfo[]> {
    return this.#store.processes(this.#jobs);
  }

  /**
   * GCRA on one row per set of jobs: each call moves `next_at` by n spacings from the later of
   * itself and now, so slots granted to anyone, in any order, are at least `spacing` apart.
   */
  rateSlots = async (rps: number, n: number): Promise<number[]> => {
    this.#check();
    // 10% margin: requests spaced exactly still arrive bunched where the server measures them.
    const spacingMs = 1100 / rps;
    const row = await this.#store.timed<{ next_ms: number; db_now_ms: number }>(
      `INSERT INTO rate_limits AS r (name, next_at) VALUES ($1, clock_timestamp() + $2::float8 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp()) + $2::float8 * interval '1 millisecond'
       RETURNING EXTRACT(EPOCH FROM r.next_at)::float8 * 1000 AS next_ms, EXTRACT(EPOCH FROM clock_timestamp())::float8 * 1000 AS db_now_ms`,
      [`rate:${[...this.#jobs].sort().join(',')}`, n * spacingMs],
    );
    if (!row) return [];
    this.#measured(row.db_now_ms, row.mid, row.rtt);
    const first = row.next_ms - n * spacingMs - this.#offset;
    return Array.from({ length: n }, (_, i) => Math.ceil(first + i * spacingMs));
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
        await this.#store.query('UPDATE processes SET ended_at = now(), heartbeat_at = now() WHERE id = $1', [this.processId]);
      }
    } finally {
      await this.#session.end().catch(() => {});
    }
  }
}

/** COPY text format, in chunks: tab-separated, `\N` for null. */
function* copyLines(batch: readonly CompletedFile[]): Generator<string> {
  let chunk = '';
  let seq = 0;
  for (const b of batch) {
    const wanted = new Set(b.job.tickers);
    for (const r of b.rows) {
      if (!wanted.has(r.ticker)) continue;
      chunk += `${seq++}\t${escapeCopy(r.ticker)}\t${b.job.interval}\t${r.time}\t${b.file.day}\t${r.open}\t${r.high}\t${r.low}\t${r.close}\t${r.volume}\t${r.transactions ?? '\\N'}\n`;
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
  }
  if (chunk !== '') yield chunk;
}

function escapeCopy(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function ignore(): void {}

/** A driver error in a few words: Node's connect errors may be an AggregateError with no message. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    const first: unknown = error.errors[0];
    return first instanceof Error ? first.message : String((error as NodeJS.ErrnoException).code ?? 'connection failed');
  }
  if (error instanceof Error) return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
  return String(error);
}
