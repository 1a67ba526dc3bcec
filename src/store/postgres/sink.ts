// A large --all file on its way into the store: each chunk is COPYed (binary) into a staging table
// of its own, an UNLOGGED table that no reader sees and whose name carries the owner's process id
// (`pmd_sink_<process>_<n>`), and `commit` replaces the day from it and marks the file done in one
// transaction, then drops it. A connection is held only while a chunk is copied, so 20 open sinks
// share a pool of 4. A killed process's tables are dropped by the next queue that opens
// (`sweepSinks`): a sink is merged only by its own commit, never from a table left behind.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { DayFile, RowColumns } from '../../types.js';
import type { FileSink, JobSpec } from '../types.js';
import { binaryTuples, lastOfEachKey } from './binary.js';
import { clearMarketDay, insertStaged, scopeDay, STAGE_COLUMNS, type MarketFile } from './bulk.js';
import type { Db } from './db.js';
import { LIVE_SQL } from './live.js';
import { addTickers, knownTickers, listTickers, lockUndone, markDone, rememberListed, type Listed } from './merge.js';
import { LOCK_NAMESPACE } from './schema.js';

/** What a sink needs of its queue. */
export interface SinkHost {
  db: Db;
  /** Runs `op` under the queue's current process id once its session holds (the queue's reconnects). */
  run<T>(op: (id: number) => Promise<T>): Promise<T>;
  /** The file was committed: the queue no longer holds its claim. */
  done(job: string, key: string): void;
}

const NAME = /^pmd_sink_(\d+)_(\d+)$/;
let opened = 0;

/**
 * Commits in flight at once per pool: a large file's commit holds its connection for seconds, and
 * four of them would leave none of the pool's 4 for the other sinks' writes and the claims.
 */
const COMMITS_PER_POOL = 2;
const commitSlots = new WeakMap<Db, { free: number; waiting: (() => void)[] }>();

async function withCommitSlot<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  let slots = commitSlots.get(db);
  if (slots === undefined) commitSlots.set(db, (slots = { free: COMMITS_PER_POOL, waiting: [] }));
  const s = slots;
  if (s.free > 0) s.free--;
  else await new Promise<void>((resolve) => s.waiting.push(resolve));
  try {
    return await fn();
  } finally {
    // Handed straight to the next waiter, or given back.
    const next = s.waiting.shift();
    if (next) next();
    else s.free++;
  }
}

/** Creates the staging table of one file and returns its sink. */
export async function openSink(host: SinkHost, job: JobSpec, file: DayFile): Promise<FileSink> {
  const n = ++opened;
  const table = await host.run(async (id) => {
    const name = `pmd_sink_${id}_${n}`;
    // IF NOT EXISTS: a retried CREATE whose first answer was lost finds its table.
    await host.db.query(`CREATE UNLOGGED TABLE IF NOT EXISTS ${name} (${STAGE_COLUMNS})`);
    return name;
  });
  return new PostgresSink(host, { job, file }, table);
}

class PostgresSink implements FileSink {
  readonly #host: SinkHost;
  readonly #file: MarketFile;
  readonly #table: string;
  /** Rows staged so far: the next chunk's first `seq`, and the ingested day's row count. */
  #rows = 0;
  /** Every key staged so far came once, in increasing order (a plain INSERT then suffices). */
  #unique = true;
  #last: { ticker: string; time: number } | undefined;
  /** The tickers staged so far, for bar_symbols. */
  #tickers: Listed = new Map();
  /** A write failed: what is staged is unknown until a reset. */
  #broken: unknown;
  #ended = false;

  constructor(host: SinkHost, file: MarketFile, table: string) {
    this.#host = host;
    this.#file = file;
    this.#table = table;
  }

  async write(chunk: RowColumns): Promise<void> {
    this.#check();
    if (chunk.length === 0) return;
    const seqBase = this.#rows;
    const first = { ticker: chunk.ticker[0] as string, time: chunk.time[0] as number };
    const prev = this.#last;
    this.#unique &&=
      (prev === undefined || prev.ticker < first.ticker || (prev.ticker === first.ticker && prev.time < first.time)) && lastOfEachKey(chunk) === undefined;
    try {
      // Not retried: a COPY whose answer was lost may have committed, and staging it twice would
      // go unseen. The caller resets (or aborts) after a failed write.
      await this.#host.db.withoutRetry(() =>
        this.#host.db.withPgClient((c) =>
          pipeline(Readable.from(binaryTuples(chunk, { seqBase })), c.query(copyFrom(`COPY ${this.#table} FROM STDIN (FORMAT binary)`))),
        ),
      );
    } catch (error) {
      this.#broken = error;
      throw error;
    }
    this.#rows += chunk.length;
    addTickers(this.#tickers, this.#file.job.interval, chunk.ticker, knownTickers(this.#host.db));
    const end = chunk.length - 1;
    this.#last = { ticker: chunk.ticker[end] as string, time: chunk.time[end] as number };
  }

  async reset(): Promise<void> {
    if (this.#ended) throw new Error('reset() after the sink was committed or aborted');
    await this.#host.db.query(`TRUNCATE ${this.#table}`);
    this.#rows = 0;
    this.#unique = true;
    this.#last = undefined;
    this.#tickers = new Map();
    this.#broken = undefined;
  }

  async commit(): Promise<void> {
    this.#check();
    const m = this.#file;
    // Retried whole after a lost connection (the queue's run): a commit that did land finds its
    // file done by its ETag, and only drops the table again.
    const db = this.#host.db;
    const merge = (id: number) =>
      db.transaction(
        async (c) => {
          const [todo] = await lockUndone(c, [m]);
          if (todo !== undefined) {
            await clearMarketDay(c, m);
            if (this.#rows > 0) await insertStaged(c, m, this.#table, this.#unique);
            await listTickers(c, this.#tickers);
            await markDone(c, id, [scopeDay(m, this.#rows)], [m]);
          }
          await c.query(`DROP TABLE IF EXISTS ${this.#table}`);
        },
        { retry: true },
      );
    await withCommitSlot(db, () => this.#host.run(merge));
    rememberListed(db, this.#tickers);
    this.#ended = true;
    this.#host.done(m.job.job, m.file.key);
  }

  async abort(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#host.db.query(`DROP TABLE IF EXISTS ${this.#table}`);
  }

  #check(): void {
    if (this.#ended) throw new Error('The sink was already committed or aborted');
    if (this.#broken !== undefined) throw new Error('A write to this sink failed: reset() it first', { cause: this.#broken });
  }
}

/**
 * Drops the staging tables of processes that are not live (killed, or ended without aborting):
 * their rows are never merged. A table still locked (a hung owner mid-COPY) is left to a later sweep.
 */
export async function sweepSinks(db: Db, leaseMs: number): Promise<number> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
     WHERE c.relkind = 'r' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
       AND c.relname ~ $1 AND split_part(c.relname, '_', 3)::int NOT IN (${LIVE_SQL})`,
    [NAME.source, LOCK_NAMESPACE, leaseMs],
  );
  let dropped = 0;
  for (const { name } of rows) {
    if (!NAME.test(name)) continue;
    const gone = await db
      .transaction(async (c) => {
        await c.query("SET LOCAL lock_timeout = '1s'");
        await c.query(`DROP TABLE IF EXISTS ${name}`);
        return true;
      })
      .catch(() => false);
    if (gone) dropped++;
  }
  return dropped;
}
