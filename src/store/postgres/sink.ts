// A large --all file on its way into the store: each chunk is COPYed (binary) into a staging table
// of its own, an UNLOGGED table that no reader sees and whose name carries the owner's process id
// (`pmd_sink_<process>_<n>`), and `commit` replaces the day from it and marks the file done in one
// transaction, then drops it. A connection is held only while a chunk is copied, so 20 open sinks
// share a pool of 4. A killed process's tables are dropped by the next queue that opens
// (`sweepSinks`): a sink is merged only by its own commit, never from a table left behind.
import type { TickerSet } from '../../symbols.js';
import type { DayFile, RowColumns } from '../../types.js';
import type { FileNote, FileSink, JobSpec } from '../types.js';
import { binaryTuples, lastOfEachKey } from './binary.js';
import { clearMarketDay, insertStaged, scopeDay } from './bulk.js';
import type { Db } from './db.js';
import { listTickers, lockUndone, markDone } from './merge.js';
import type { MarketFile } from './rows.js';
import { copyStaged, createStaging, dropStaging, truncateStaging } from './sql/bulk.js';
import { recordFindings } from './sql/findings.js';
import { snapshotDay } from './sql/revisions.js';
import { withRevision } from '../conflicts.js';
import { revisedNote, revisionScope } from './revisions.js';
import { notifyChanged } from './sql/notify.js';
import { deadSinks, shortLockTimeout } from './sql/sinks.js';

/** What a sink needs of its queue. */
export interface SinkHost {
  db: Db;
  /** Runs `op` under the queue's current process id once its session holds (the queue's reconnects). */
  run<T>(op: (id: number) => Promise<T>): Promise<T>;
  /** The file was committed: the queue no longer holds its claim. */
  done(job: string, key: string): void;
}

const NAME = /^pmd_sink_(\d+)_(\d+)$/;

/** Creates the staging table of one file and returns its sink. */
export async function openSink(host: SinkHost, job: JobSpec, file: DayFile, replaces = false): Promise<FileSink> {
  const n = host.db.state.nextSink();
  const table = await host.run(async (id) => {
    const name = `pmd_sink_${id}_${n}`;
    await createStaging(host.db, name);
    return name;
  });
  return new PostgresSink(host, { job, file }, table, replaces);
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
  /** The tickers staged so far that this process does not know listed, for bar_symbols: committed with the file. */
  #tickers: TickerSet;
  /** A write failed: what is staged is unknown until a reset. */
  #broken: unknown;
  #ended = false;
  /** The file replaces an earlier version of its day: its commit compares old bars with new. */
  readonly #replaces: boolean;

  constructor(host: SinkHost, file: MarketFile, table: string, replaces: boolean) {
    this.#host = host;
    this.#file = file;
    this.#table = table;
    this.#replaces = replaces;
    this.#tickers = this.#draft();
  }

  #draft(): TickerSet {
    return this.#host.db.state.listed(this.#file.job.interval).draft();
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
        this.#host.db.withPgClient((c) => copyStaged(c, this.#table, binaryTuples(chunk, { seqBase }))),
      );
    } catch (error) {
      this.#broken = error;
      throw error;
    }
    this.#rows += chunk.length;
    this.#tickers.add(chunk.ticker);
    const end = chunk.length - 1;
    this.#last = { ticker: chunk.ticker[end] as string, time: chunk.time[end] as number };
  }

  async reset(): Promise<void> {
    if (this.#ended) throw new Error('reset() after the sink was committed or aborted');
    await truncateStaging(this.#host.db, this.#table);
    this.#rows = 0;
    this.#unique = true;
    this.#last = undefined;
    this.#tickers = this.#draft();
    this.#broken = undefined;
  }

  async commit(notes?: readonly FileNote[]): Promise<void> {
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
            const scope = this.#replaces ? revisionScope(0, m) : undefined;
            await clearMarketDay(c, m, scope && (() => snapshotDay(c, scope)));
            if (this.#rows > 0) await insertStaged(c, m, this.#table, this.#unique);
            await listTickers(c, new Map([[m.job.interval, this.#tickers]]));
            await markDone(c, id, [scopeDay(m, this.#rows)], [m]);
            await recordFindings(c, [{ ...m, notes: withRevision(notes, scope && (await revisedNote(c, scope))) }]);
            await notifyChanged(c);
          }
          await dropStaging(c, this.#table);
        },
        { retry: true },
      );
    await db.state.sinkCommits.run(() => this.#host.run(merge));
    this.#tickers.commit();
    this.#ended = true;
    this.#host.done(m.job.job, m.file.key);
  }

  async abort(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await dropStaging(this.#host.db, this.#table);
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
  let dropped = 0;
  for (const name of await deadSinks(db, NAME.source, leaseMs)) {
    if (!NAME.test(name)) continue;
    const gone = await db
      .transaction(async (c) => {
        await shortLockTimeout(c);
        await dropStaging(c, name);
        return true;
      })
      .catch(() => false);
    if (gone) dropped++;
  }
  return dropped;
}
