// The merge: a batch of downloaded files' bars streamed in with COPY, each file's days replaced,
// and the files marked done, all in one transaction: no file is ever done without its bars. The
// files of an --all job replace their whole day instead (bulk.ts), in the same transaction.
//
// Two jobs that share a ticker (TSLA AAPL, AAPL MSFT) replace the same bars and ingested_days
// rows, so every merge takes its row locks in one global order, whatever the order its files
// arrived in: job_files by (job, key), bars by their key (interval, day, symbol, time), then
// bar_symbols by (interval, symbol), ingested_days by (symbol, interval, day), and last the
// file_findings of the files (sql/findings.ts). Merges that meet then queue behind each other instead of deadlocking;
// a deadlock left to chance (a third merge committing rows between the others' steps) is retried
// whole by db.transaction.
import type pg from 'pg';
import type { TickerSet } from '../../symbols.js';
import { EMPTY_COLUMNS } from '../../types.js';
import type { CompletedFile, FileNote } from '../types.js';
import { byDay, clearMarketDay, insertColumns, scopeDay } from './bulk.js';
import type { Db } from './db.js';
import type { IngestedDay, MarketFile } from './rows.js';
import { recordFindings } from './sql/findings.js';
import * as sql from './sql/merge.js';
import { snapshotDay } from './sql/revisions.js';
import { withRevision } from '../conflicts.js';
import { revisedNote, revisionScope } from './revisions.js';
import { notifyChanged } from './sql/notify.js';

/**
 * Merges each file's bars (replacing its day for each ticker of its job), records the ingested
 * days, marks the files done by `processId` and releases their claims, in one transaction. A file
 * another process already finished with the same ETag is skipped.
 */
export async function completeFiles(db: Db, processId: number, batch: readonly CompletedFile[]): Promise<void> {
  if (batch.length === 0) return;
  let created: pg.PoolClient | undefined;
  let listed: Listed = new Map();
  await db.transaction(
    async (c) => {
      // Again at each attempt: a rolled-back attempt took its temporary table with it, and listed nothing.
      created = undefined;
      listed = new Map();
      const todo = await lockUndone(c, batch);
      if (todo.length === 0) return;

      const plain = todo.filter((b) => b.job.all !== true);
      const market = todo.filter((b) => b.job.all === true).sort(byDay);
      const days: IngestedDay[] = [];
      // Republished files: their days' bars as they were, compared after the merge (a `revised` note).
      const replacing = todo.filter((b) => b.replaces === true);
      const scopes = new Map(replacing.map((b, i) => [b, revisionScope(i, b)]));
      for (const b of plain) {
        const scope = scopes.get(b);
        if (scope) await snapshotDay(c, scope);
      }
      if (plain.length > 0 && (await mergeTickers(c, plain, days, db.state.incoming))) created = c;
      for (const b of plain) {
        // Only the job's tickers are merged.
        const wanted = new Set(b.job.tickers);
        draftOf(db, listed, b.job.interval).add(b.rows.map((r) => r.ticker).filter((t) => wanted.has(t)));
      }
      for (const b of market) {
        const scope = scopes.get(b);
        await clearMarketDay(c, b, scope && (() => snapshotDay(c, scope)));
        const cols = b.columns ?? EMPTY_COLUMNS;
        const rows = await insertColumns(c, b, cols);
        // Walked along the previous file's sorted tickers: only what the walk does not find is looked up.
        draftOf(db, listed, b.job.interval).addList(cols.ticker);
        days.push(scopeDay(b, rows));
      }
      // After every bar of the transaction: bar_symbols comes next in the lock order.
      await listTickers(c, listed);
      await markDone(c, processId, days, todo);
      const revised = new Map<CompletedFile, FileNote | undefined>();
      for (const [b, scope] of scopes) revised.set(b, await revisedNote(c, scope));
      await recordFindings(c, todo.map((b) => ({ ...b, notes: withRevision(b.notes, revised.get(b)) })));
      await notifyChanged(c);
    },
    { retry: true },
  );
  if (created) db.state.incoming.add(created);
  for (const draft of listed.values()) draft.commit();
}

/**
 * By interval, the tickers a transaction lists: drafts of what this process knows is listed
 * (Db.state), which take their additions there once the transaction commits (a rollback lists nothing).
 */
export type Listed = Map<string, TickerSet>;

/** The draft of `interval` in `listed`, made on first use. */
function draftOf(db: Db, listed: Listed, interval: string): TickerSet {
  let draft = listed.get(interval);
  if (draft === undefined) listed.set(interval, (draft = db.state.listed(interval).draft()));
  return draft;
}

/**
 * Locks the files' job_files rows (in (job, key) order) and returns those still to merge: a file
 * another process already finished with this ETag is skipped (its bars are in), so no file is done twice.
 */
export async function lockUndone<T extends MarketFile>(c: pg.PoolClient, batch: readonly T[]): Promise<T[]> {
  const locked = await sql.lockFiles(c, batch);
  const finished = new Set(locked.filter((r) => r.state === 'done').map((r) => `${r.job}\n${r.key}\n${r.etag}`));
  return batch.filter((b) => !finished.has(`${b.job.job}\n${b.file.key}\n${b.file.etag}`));
}


/**
 * The bars of ticker jobs' files: each (ticker, day) of a job replaced, its ingested day added to
 * `days`. Returns true when it created this connection's temporary table (known once committed).
 */
async function mergeTickers(c: pg.PoolClient, files: readonly CompletedFile[], days: IngestedDay[], ready: WeakSet<pg.PoolClient>): Promise<boolean> {
  // Each connection of the pool keeps its own temporary table (`ready`: those known to have it).
  let created = false;
  if (!ready.has(c)) {
    await sql.createIncoming(c);
    created = true;
  }
  await sql.copyIncoming(c, copyLines(files));

  // One (symbol, interval, day) per ticker of each file's job: its day is replaced, and its
  // ingested_days row written (0 rows for a ticker absent from the file: a halt).
  const unique = new Map<string, IngestedDay>();
  for (const b of files) {
    const counts = new Map<string, number>();
    for (const r of b.rows) counts.set(r.ticker, (counts.get(r.ticker) ?? 0) + 1);
    for (const symbol of b.job.tickers) {
      unique.set(`${symbol}\n${b.job.interval}\n${b.file.day}`, {
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
  const d = [...unique.values()];
  days.push(...d);
  await sql.deleteDays(c, d);
  await sql.mergeIncoming(c);
  return created;
}

/**
 * The bookkeeping of merged files (sql/merge.ts markFilesDone): the ingested days, the files done
 * by `processId` and their claims released, its counters and the jobs' updated_at. Rows are sorted
 * first: the upserts take their row locks in array order.
 */
export async function markDone(c: pg.PoolClient, processId: number, ingested: readonly IngestedDay[], done: readonly MarketFile[]): Promise<void> {
  const d = [...ingested].sort((x, y) => compare(x.symbol, y.symbol) || compare(x.interval, y.interval) || compare(x.day, y.day));
  const files = [...new Map(done.map((b) => [`${b.job.job}\n${b.file.key}`, b])).values()].sort(
    (x, y) => compare(x.job.job, y.job.job) || compare(x.file.key, y.file.key),
  );
  await sql.markFilesDone(c, processId, d, files);
}

/**
 * Lists the tickers the drafts added in bar_symbols (nothing is ever taken off it: a replaced day
 * leaves its tickers listed).
 */
export async function listTickers(c: pg.PoolClient, listed: Listed): Promise<void> {
  const intervals: string[] = [];
  const symbols: string[] = [];
  for (const [interval, draft] of listed) {
    for (const s of draft.added) {
      intervals.push(interval);
      symbols.push(s);
    }
  }
  if (symbols.length === 0) return;
  await sql.listTickers(c, intervals, symbols);
}

/** Code-unit order: the same in every process, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** COPY text format, in chunks: tab-separated, `\N` for null. */
export function* copyLines(batch: readonly CompletedFile[]): Generator<string> {
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

export function escapeCopy(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
