// The merge: a batch of downloaded files' bars streamed in with COPY, each file's days replaced,
// and the files marked done, all in one transaction: no file is ever done without its bars. The
// files of an --all job replace their whole day instead (bulk.ts), in the same transaction.
//
// Two jobs that share a ticker (TSLA AAPL, AAPL MSFT) replace the same bars and ingested_days
// rows, so every merge takes its row locks in one global order, whatever the order its files
// arrived in: job_files by (job, key), bars by their key (interval, day, symbol, time), then
// bar_symbols by (interval, symbol), ingested_days by (symbol, interval, day). Merges that meet then queue behind each other instead of deadlocking;
// a deadlock left to chance (a third merge committing rows between the others' steps) is retried
// whole by db.transaction.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { notIn } from '../../symbols.js';
import type { RowColumns } from '../../types.js';
import type { CompletedFile } from '../types.js';
import { byDay, clearMarketDay, insertColumns, scopeDay, type IngestedDay, type MarketFile } from './bulk.js';
import type { Db } from './db.js';

/** Pool connections whose session has the `pmd_incoming` temporary table (created and committed). */
const INCOMING_READY = new WeakSet<pg.PoolClient>();

/**
 * Merges each file's bars (replacing its day for each ticker of its job), records the ingested
 * days, marks the files done by `processId` and releases their claims, in one transaction. A file
 * another process already finished with the same ETag is skipped.
 */
export async function completeFiles(db: Db, processId: number, batch: readonly CompletedFile[]): Promise<void> {
  if (batch.length === 0) return;
  let created: pg.PoolClient | undefined;
  const known = knownTickers(db);
  const committed = PREVIOUS.get(db);
  let listed: Listed = new Map();
  let previous = new Map<string, readonly string[]>();
  await db.transaction(
    async (c) => {
      // Again at each attempt: a rolled-back attempt took its temporary table with it.
      created = undefined;
      listed = new Map();
      previous = new Map(committed);
      const todo = await lockUndone(c, batch);
      if (todo.length === 0) return;

      const plain = todo.filter((b) => b.job.all !== true);
      const market = todo.filter((b) => b.job.all === true).sort(byDay);
      const days: IngestedDay[] = [];
      if (plain.length > 0 && (await mergeTickers(c, plain, days))) created = c;
      listed = plainTickers(plain, known);
      for (const b of market) {
        await clearMarketDay(c, b);
        const cols = b.columns ?? NO_ROWS;
        const rows = await insertColumns(c, b, cols);
        // Only what a walk along the previous file's sorted tickers does not find goes to the Sets:
        // those it finds are known, or listed by this transaction already.
        addTickers(listed, b.job.interval, notIn(previous.get(b.job.interval) ?? [], cols.ticker), known);
        previous.set(b.job.interval, cols.ticker);
        days.push(scopeDay(b, rows));
      }
      // After every bar of the transaction: bar_symbols comes next in the lock order.
      await listTickers(c, listed);
      await markDone(c, processId, days, todo);
    },
    { retry: true },
  );
  if (created) INCOMING_READY.add(created);
  rememberListed(db, listed);
  PREVIOUS.set(db, previous);
}

/**
 * Locks the files' job_files rows (in (job, key) order) and returns those still to merge: a file
 * another process already finished with this ETag is skipped (its bars are in), so no file is done twice.
 */
export async function lockUndone<T extends MarketFile>(c: pg.PoolClient, batch: readonly T[]): Promise<T[]> {
  const locked = await c.query<{ job: string; key: string; state: string; etag: string }>({
    name: 'pmd_lock_files',
    text: `SELECT f.job, f.key, f.state, f.etag FROM job_files f
       WHERE (f.job, f.key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       ORDER BY f.job, f.key FOR UPDATE`,
    values: [batch.map((b) => b.job.job), batch.map((b) => b.file.key)],
  });
  const finished = new Set(locked.rows.filter((r) => r.state === 'done').map((r) => `${r.job}\n${r.key}\n${r.etag}`));
  return batch.filter((b) => !finished.has(`${b.job.job}\n${b.file.key}\n${b.file.etag}`));
}

const NO_ROWS: RowColumns = {
  length: 0,
  ticker: [],
  time: new Float64Array(0),
  open: new Float64Array(0),
  high: new Float64Array(0),
  low: new Float64Array(0),
  close: new Float64Array(0),
  volume: new Float64Array(0),
  transactions: new Float64Array(0),
};

/**
 * The bars of ticker jobs' files: each (ticker, day) of a job replaced, its ingested day added to
 * `days`. Returns true when it created this connection's temporary table (known once committed).
 */
async function mergeTickers(c: pg.PoolClient, files: readonly CompletedFile[], days: IngestedDay[]): Promise<boolean> {
  // Each connection of the pool keeps its own temporary table, emptied at every commit: one
  // round trip less per transaction than creating and dropping it each time.
  let created = false;
  if (!INCOMING_READY.has(c)) {
    await c.query(
      `CREATE TEMP TABLE IF NOT EXISTS pmd_incoming (
           seq bigint, symbol text, interval text, time bigint, day text,
           open float8, high float8, low float8, close float8, volume float8, transactions bigint
         ) ON COMMIT DELETE ROWS`,
    );
    created = true;
  }
  await pipeline(Readable.from(copyLines(files)), c.query(copyFrom('COPY pmd_incoming FROM STDIN')));

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
  const cols = [d.map((x) => x.symbol), d.map((x) => x.interval), d.map((x) => x.day)];
  // The days' bars locked first, in key order (a locking clause under ORDER BY locks rows as
  // they are sorted), then deleted: a join's own order is the plan's (here the batch's). Each
  // (interval, day, symbol) is a prefix of the key: one index range per ticker's day.
  await c.query({
    name: 'pmd_delete_days',
    text: `WITH locked AS (
         SELECT b.interval, b.day, b.symbol, b.time FROM bars b
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS d(symbol, interval, day)
           ON b.interval = d.interval AND b.day = d.day AND b.symbol = d.symbol
         ORDER BY b.interval, b.day, b.symbol, b.time
         FOR UPDATE OF b
       )
       DELETE FROM bars b USING locked l
       WHERE b.interval = l.interval AND b.day = l.day AND b.symbol = l.symbol AND b.time = l.time`,
    values: cols,
  });
  // DISTINCT ON: a key twice in the batch keeps the last, as sequential upserts would (ON
  // CONFLICT may not touch one row twice in a statement). Inserted in key order, as the bars
  // were locked.
  await c.query({
    name: 'pmd_merge_bars',
    text: `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
       SELECT DISTINCT ON (interval, day, symbol, time) symbol, interval, time, day, open, high, low, close, volume, transactions
       FROM pmd_incoming ORDER BY interval, day, symbol, time, seq DESC
       ON CONFLICT (interval, day, symbol, time) DO UPDATE SET
         open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
         volume = excluded.volume, transactions = excluded.transactions`,
  });
  return created;
}

/**
 * The bookkeeping of merged files in one statement (data-modifying CTEs run to completion whether
 * or not they are read): the ingested days, the files done by `processId` and their claims
 * released, its counters and the jobs' updated_at. Rows are sorted first: the upserts take their
 * row locks in array order.
 */
export async function markDone(c: pg.PoolClient, processId: number, ingested: readonly IngestedDay[], done: readonly MarketFile[]): Promise<void> {
  const d = [...ingested].sort((x, y) => compare(x.symbol, y.symbol) || compare(x.interval, y.interval) || compare(x.day, y.day));
  const files = [...new Map(done.map((b) => [`${b.job.job}\n${b.file.key}`, b])).values()].sort(
    (x, y) => compare(x.job.job, y.job.job) || compare(x.file.key, y.file.key),
  );
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
      d.map((x) => x.symbol),
      d.map((x) => x.interval),
      d.map((x) => x.day),
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
      processId,
      files.length,
      files.reduce((sum, b) => sum + b.file.size, 0),
      [...new Set(files.map((b) => b.job.job))],
    ],
  });
}

/** Tickers by interval, to list in bar_symbols. */
export type Listed = Map<string, Set<string>>;

/**
 * Per pool, the tickers this process has seen committed to bar_symbols. Nothing is ever taken off
 * that table, so they need not be listed again: a whole-market file then lists the few tickers new
 * to this process instead of sending and probing ~11,000 (measured: most of a file's statements'
 * server CPU after the COPY).
 */
const LISTED = new WeakMap<Db, Listed>();
/**
 * The tickers of the last whole-market file of each interval that a merge on this Db committed:
 * all in its known tickers. The next day's file is walked along them (notIn) before its Set
 * lookups: a Set lookup of a string that came from a worker thread hashes it first, and cost ~12%
 * of the main thread's time in a profiled `--all` run into PostgreSQL.
 */
const PREVIOUS = new WeakMap<Db, Map<string, readonly string[]>>();

export function knownTickers(db: Db): Listed {
  let known = LISTED.get(db);
  if (known === undefined) LISTED.set(db, (known = new Map<string, Set<string>>()));
  return known;
}

/** After the commit of a transaction that listed `listed` (not before: a rollback lists nothing). */
export function rememberListed(db: Db, listed: Listed): void {
  const known = knownTickers(db);
  for (const [interval, set] of listed) addTickers(known, interval, set);
}

/** The tickers with rows in ticker jobs' files (only their jobs' tickers are merged), less those `known`. */
function plainTickers(files: readonly CompletedFile[], known: Listed): Listed {
  const listed: Listed = new Map();
  for (const b of files) {
    const wanted = new Set(b.job.tickers);
    addTickers(
      listed,
      b.job.interval,
      b.rows.map((r) => r.ticker).filter((t) => wanted.has(t)),
      known,
    );
  }
  return listed;
}

/** Adds `tickers` of `interval` to `listed`, but for those already in `known`. */
export function addTickers(listed: Listed, interval: string, tickers: Iterable<string>, known?: Listed): void {
  const skip = known?.get(interval);
  let set = listed.get(interval);
  let last: string | undefined;
  for (const t of tickers) {
    // A minute file's rows repeat their ticker hundreds of times in a row: one lookup a run.
    if (t === last) continue;
    last = t;
    if (skip?.has(t) === true) continue;
    if (set === undefined) listed.set(interval, (set = new Set()));
    set.add(t);
  }
}

/**
 * Lists the tickers in bar_symbols, in one statement sorted by its key (an insert of a key another
 * transaction has just inserted waits for it: one order for all, after the bars). A ticker
 * already listed costs one index probe; nothing is ever taken off (a replaced day leaves it).
 */
export async function listTickers(c: pg.PoolClient, listed: Listed): Promise<void> {
  const intervals: string[] = [];
  const symbols: string[] = [];
  for (const [interval, set] of listed) {
    for (const s of set) {
      intervals.push(interval);
      symbols.push(s);
    }
  }
  if (symbols.length === 0) return;
  await c.query({
    name: 'pmd_list_tickers',
    text: `INSERT INTO bar_symbols (interval, symbol)
       SELECT * FROM unnest($1::text[], $2::text[]) AS u(interval, symbol) ORDER BY interval, symbol
       ON CONFLICT DO NOTHING`,
    values: [intervals, symbols],
  });
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
