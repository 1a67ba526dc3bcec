// The one way to the database for the store and its queues (graphile-worker's withPgClient): the
// pool, a queue's own session, the mapping of every driver failure to a StoreError that names
// the masked URL, and the retry of a statement whose connection was lost (a server restart).
// Nothing else in the store creates a connection or maps an error.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PreloadError, StoreError } from '../../errors.js';
import { backoffDelay, retry } from '../../retry.js';
import { maskUrl, redact } from '../../store-url.js';
import { PoolState } from './pool-state.js';

// int8 (COUNT, sizes, bar times) as numbers: every value we store fits in 2^53.
const INT8_OID = 20;
type TypeFormat = Parameters<typeof pg.types.getTypeParser>[1];
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: TypeFormat) =>
    oid === INT8_OID ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as (v: string) => unknown),
};

function ignore(): void {}

/**
 * How many times a transaction run with `retry` is tried in all. A deadlock victim waits for the
 * server's deadlock_timeout (1 s by default) before it is chosen: five attempts take seconds at most.
 */
export const TRANSACTION_ATTEMPTS = 5;

/** The SQLSTATEs of a transaction the server aborted so that another could go on. */
const TRANSIENT = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT.has(code);
}

/** A short pause before attempt `attempt + 1`: 20 ms doubled per attempt, jittered, so the victims do not meet again. */
function backoff(attempt: number): Promise<void> {
  return sleep(backoffDelay(attempt - 1, 20, 1000));
}

export interface TransactionOptions {
  /**
   * Runs the whole transaction again, after a short jittered pause, when the server aborts it as
   * a deadlock victim (40P01) or a serialization failure (40001), up to
   * {@link TRANSACTION_ATTEMPTS} attempts in all. Only for a `fn` whose only effects are its
   * statements: it may run more than once.
   * @default false
   */
  retry?: boolean;
}

/** SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down). */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
/** Node's socket errors of a peer that went away or is not there yet. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN']);
/** node-postgres's own words for a connection that ended, broke, or could not be had in time (they carry no code). */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect/i;

/**
 * Whether `error` (or its cause, or one of an AggregateError's errors) says the connection was
 * lost or could not be made, so the same statement may succeed on a new one: SQLSTATE class 08
 * or 57P01-57P03, a socket error, node-postgres's "Connection terminated". Anything else (a bad
 * statement, a refused password, a deadlock) is not.
 */
export function isConnectionError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const look = (e: unknown): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return false;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || CONNECTION_ERRNOS.has(code))) return true;
    // A SQLSTATE of another class is that statement's own failure, whatever its words.
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return false;
    if (e instanceof Error && CONNECTION_MESSAGES.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(look)) return true;
    return look((e as { cause?: unknown }).cause);
  };
  return look(error);
}

/** The delay before the `attempt`-th retry (0-based): 100 ms doubling to 1 s, with jitter. */
export function retryDelay(attempt: number): number {
  return backoffDelay(attempt, 100, 1000);
}

/** The name a connection shows in pg_stat_activity: which process on which host it serves. */
export const APPLICATION_NAME = `preload-market-data/${process.pid}`;

/** A driver error in a few words: Node's connect errors may be an AggregateError with no message. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    const first: unknown = error.errors[0];
    return first instanceof Error ? first.message : String((error as NodeJS.ErrnoException).code ?? 'connection failed');
  }
  if (error instanceof Error) return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
  return String(error);
}

/** Statements run inside {@link Db.withoutRetry} are not retried by the Db: their caller retries. */
const noRetry = new AsyncLocalStorage<true>();

/** The pool of one store, shared by the store's reads and its queues' writes. */
export class Db {
  /** The URL with its password masked: safe to print. */
  readonly where: string;
  /** How long a lost connection is retried, from its first failure (ms); 0: not at all. */
  readonly retryMs: number;
  /** What this process keeps beside the pool (bar_symbols known, sink commits, ...). */
  readonly state = new PoolState();
  readonly #url: string;
  readonly #pool: pg.Pool;
  /** Whether a connection was ever made: a store never reached (a wrong URL) fails at once, it is no outage. */
  #reached = false;

  /** No connection is made until the first statement. */
  constructor(url: string, poolSize: number, retryMs = 0) {
    this.#url = url;
    this.where = maskUrl(url);
    this.retryMs = retryMs;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 15_000,
      types,
      application_name: APPLICATION_NAME,
    });
    // An idle pooled connection cut by a server restart emits 'error': without a listener it would
    // crash the process. The next query fails (and reconnects) instead.
    this.#pool.on('error', ignore);
  }

  /** A driver failure as a StoreError naming the masked URL, its password removed; a PreloadError as it is. */
  storeError(error: unknown, connecting = false): PreloadError {
    if (error instanceof PreloadError) return error;
    const head = connecting ? `Cannot connect to the PostgreSQL store ${this.where}` : `PostgreSQL store ${this.where}`;
    return new StoreError(this.where, `${head}: ${redact(describeError(error), this.#url)}`, { cause: error });
  }

  /**
   * Runs `attempt` again while it fails with a lost connection ({@link isConnectionError}), with
   * backoff, for up to `retryMs` from the first failure; then its last error, as a StoreError that
   * says how long the store was away. Not once the store was never reached, nor inside
   * {@link withoutRetry}.
   */
  async retry<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      // Unbounded in count, bounded by the time since the first failure.
      return await retry(attempt, {
        retries: Infinity,
        baseMs: 100,
        capMs: 1000,
        maxElapsedMs: this.retryMs,
        shouldRetry: ({ error }) => this.#reached && noRetry.getStore() !== true && isConnectionError(error),
        timedOut: ({ error, firstFailureAt }) => this.awayError(error, Date.now() - (performance.now() - firstFailureAt)),
      });
    } catch (error) {
      throw this.storeError(error);
    }
  }

  /** The error of a store still away after `retryMs` (`since`: when it went). */
  awayError(error: unknown, since: number): PreloadError {
    if (this.retryMs === 0) return this.storeError(error);
    const cause = describeError(error instanceof PreloadError && error.cause !== undefined ? error.cause : error);
    return new StoreError(
      this.where,
      `PostgreSQL store ${this.where}: still unreachable after ${Math.round((Date.now() - since) / 1000)} s (the store timeout is ${this.retryMs / 1000} s): ${redact(cause, this.#url)}`,
      { cause: error },
    );
  }

  /** Runs `fn` with this Db's retries off: for a caller that must do something else before it tries again (a queue reconnects its session). */
  withoutRetry<T>(fn: () => Promise<T>): Promise<T> {
    return noRetry.run(true, fn);
  }

  /** One statement on the pool. A `name` makes it a prepared statement on each pooled connection. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    return this.retry(async () => {
      // Prepared: planned once per connection, not per call.
      const result = await this.#pool.query<R>(name === undefined ? { text, values } : { name, text, values });
      this.#reached = true;
      return result.rows;
    });
  }

  /** As `query`, each row an array of its columns in order (no object per row: bulk reads). */
  async queryArrays<R extends unknown[]>(text: string, values: unknown[], name: string): Promise<R[]> {
    return this.retry(async () => {
      const result = await this.#pool.query<R>({ name, text, values, rowMode: 'array' });
      this.#reached = true;
      return result.rows;
    });
  }

  /** Runs `fn` on one pooled connection, outside any transaction. */
  async withPgClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.retry(async () => {
      const client = await this.#connect();
      try {
        return await fn(client);
      } catch (error) {
        throw this.storeError(error);
      } finally {
        client.off('error', ignore);
        client.release();
      }
    });
  }

  /**
   * Runs `fn` on one pooled connection inside one transaction; a connection that broke is not
   * returned to the pool. With `retry`, a transaction the server aborted as a deadlock victim or a
   * serialization failure runs again on the same connection after a short jittered pause. A
   * transaction whose connection was lost is run again from the start on a new one (see
   * {@link retry}): `fn` must be safe to repeat once committed (the COMMIT may be what was lost).
   */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const attempts = options.retry === true ? TRANSACTION_ATTEMPTS : 1;
    return this.retry(async () => {
      const client = await this.#connect();
      let broken = false;
      try {
        for (let attempt = 1; ; attempt++) {
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
            if (broken || attempt >= attempts || !isTransient(error)) throw this.storeError(error);
            await backoff(attempt);
          }
        }
      } finally {
        client.off('error', ignore);
        client.release(broken);
      }
    });
  }

  /**
   * A connection of its own, outside the pool, open until the caller ends it (a queue's session,
   * which holds its advisory lock). Its errors are ignored until the caller listens. Not retried:
   * its owner decides.
   */
  async session(): Promise<pg.Client> {
    const session = new pg.Client({ connectionString: this.#url, types, keepAlive: true, application_name: APPLICATION_NAME });
    session.on('error', ignore); // until the caller listens: a failed call reports it
    try {
      await session.connect();
    } catch (error) {
      throw this.storeError(error, true);
    }
    this.#reached = true;
    return session;
  }

  /** Whether a connection to the store was ever made (a lost one is then worth waiting for). */
  get reached(): boolean {
    return this.#reached;
  }

  async end(): Promise<void> {
    await this.#pool.end();
  }

  /** A pooled connection. While checked out the pool does not listen to its errors: we must. */
  async #connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.#pool.connect();
      this.#reached = true;
      // A connection cut mid-query also rejects that query: the error is reported there.
      client.on('error', ignore);
      return client;
    } catch (error) {
      throw this.storeError(error, true);
    }
  }
}

/** Where one statement runs: the pool (retried by its Db after a lost connection), or one connection (a transaction's, a queue's session). */
export type Queryable = Db | pg.ClientBase;

/** One statement as node-postgres takes it. A `name` makes it prepared: parsed and planned once per connection. */
export interface Statement {
  name?: string;
  text: string;
  values?: unknown[];
}

/** Runs one statement on `on` and returns its rows: how every module of sql/ runs its statement. */
export async function execute<R extends pg.QueryResultRow>(on: Queryable, statement: Statement): Promise<R[]> {
  if (on instanceof Db) return on.query<R>(statement.text, statement.values ?? [], statement.name);
  return (await on.query<R>(statement)).rows;
}
