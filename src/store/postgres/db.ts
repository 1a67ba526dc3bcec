// The one way to the database for the store and its queues (graphile-worker's withPgClient): the
// pool, a queue's own session, and the mapping of every driver failure to a StoreError that names
// the masked URL. Nothing else in the store creates a connection or maps an error.
import pg from 'pg';
import { PreloadError, StoreError } from '../../errors.js';
import { maskUrl, redact } from '../url.js';

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

/** A short pause before attempt `attempt + 1`: 20 ms doubled per attempt, jittered by +/-50%, so the victims do not meet again. */
function backoff(attempt: number): Promise<void> {
  const ms = 20 * 2 ** (attempt - 1) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
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

/** A driver error in a few words: Node's connect errors may be an AggregateError with no message. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    const first: unknown = error.errors[0];
    return first instanceof Error ? first.message : String((error as NodeJS.ErrnoException).code ?? 'connection failed');
  }
  if (error instanceof Error) return error.message || String((error as NodeJS.ErrnoException).code ?? error.name);
  return String(error);
}

/** The pool of one store, shared by the store's reads and its queues' writes. */
export class Db {
  /** The URL with its password masked: safe to print. */
  readonly where: string;
  readonly #url: string;
  readonly #pool: pg.Pool;

  /** No connection is made until the first statement. */
  constructor(url: string, poolSize: number) {
    this.#url = url;
    this.where = maskUrl(url);
    this.#pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 15_000, types });
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

  /** One statement on the pool. A `name` makes it a prepared statement on each pooled connection. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    try {
      // Prepared: planned once per connection, not per call.
      return (await this.#pool.query<R>(name === undefined ? { text, values } : { name, text, values })).rows;
    } catch (error) {
      throw this.storeError(error);
    }
  }

  /** Runs `fn` on one pooled connection, outside any transaction. */
  async withPgClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    try {
      return await fn(client);
    } catch (error) {
      throw this.storeError(error);
    } finally {
      client.off('error', ignore);
      client.release();
    }
  }

  /**
   * Runs `fn` on one pooled connection inside one transaction (again, on the same connection, for
   * a transient abort when `retry` is set); a connection that broke is not returned to the pool.
   */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const attempts = options.retry === true ? TRANSACTION_ATTEMPTS : 1;
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
  }

  /**
   * A connection of its own, outside the pool, open until the caller ends it (a queue's session,
   * which holds its advisory lock). Its errors are ignored until the caller listens.
   */
  async session(): Promise<pg.Client> {
    const session = new pg.Client({ connectionString: this.#url, types, keepAlive: true });
    session.on('error', ignore); // until the caller listens: a failed call reports it
    try {
      await session.connect();
    } catch (error) {
      throw this.storeError(error, true);
    }
    return session;
  }

  async end(): Promise<void> {
    await this.#pool.end();
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
}
