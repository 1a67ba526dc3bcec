// The statements of a merge (merge.ts), in the order a merge runs them, all in its transaction:
// the files' rows locked, ticker jobs' bars through a temporary table, the bookkeeping, the
// tickers listed.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { execute, type Queryable } from '../db.js';
import type { IngestedDay, MarketFile } from '../rows.js';

/** Locks the files' job_files rows in (job, key) order; returns those that exist. */
export async function lockFiles(c: Queryable, files: readonly MarketFile[]): Promise<{ job: string; key: string; state: string; etag: string }[]> {
  return execute(c, {
    name: 'pmd_lock_files',
    text: `SELECT f.job, f.key, f.state, f.etag FROM job_files f
       WHERE (f.job, f.key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       ORDER BY f.job, f.key FOR UPDATE`,
    values: [files.map((b) => b.job.job), files.map((b) => b.file.key)],
  });
}

/**
 * The connection's own temporary table of incoming ticker rows, emptied at every commit: one
 * round trip less per transaction than creating and dropping it each time.
 */
export async function createIncoming(c: Queryable): Promise<void> {
  await execute(c, {
    text: `CREATE TEMP TABLE IF NOT EXISTS pmd_incoming (
           seq bigint, symbol text, interval text, time bigint, day text,
           open float8, high float8, low float8, close float8, volume float8, transactions bigint
         ) ON COMMIT DELETE ROWS`,
  });
}

/** COPYs `lines` (text format, merge.ts copyLines) into pmd_incoming. */
export async function copyIncoming(c: pg.ClientBase, lines: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(lines), c.query(copyFrom('COPY pmd_incoming FROM STDIN')));
}

/**
 * Locks, then deletes, every bar of the (symbol, interval, day)s. The bars are locked in key order
 * (a locking clause under ORDER BY locks rows as they are sorted): a join's own order is the
 * plan's (here the batch's). Each (interval, day, symbol) is a prefix of the key: one index range
 * per ticker's day.
 */
export async function deleteDays(c: Queryable, days: readonly { symbol: string; interval: string; day: string }[]): Promise<void> {
  await execute(c, {
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
    values: [days.map((x) => x.symbol), days.map((x) => x.interval), days.map((x) => x.day)],
  });
}

/**
 * pmd_incoming into bars. DISTINCT ON: a key twice in the batch keeps the last, as sequential
 * upserts would (ON CONFLICT may not touch one row twice in a statement). Inserted in key order,
 * as the bars were locked.
 */
export async function mergeIncoming(c: Queryable): Promise<void> {
  await execute(c, {
    name: 'pmd_merge_bars',
    text: `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
       SELECT DISTINCT ON (interval, day, symbol, time) symbol, interval, time, day, open, high, low, close, volume, transactions
       FROM pmd_incoming ORDER BY interval, day, symbol, time, seq DESC
       ON CONFLICT (interval, day, symbol, time) DO UPDATE SET
         open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
         volume = excluded.volume, transactions = excluded.transactions`,
  });
}

/**
 * The bookkeeping of merged files in one statement (data-modifying CTEs run to completion whether
 * or not they are read): the ingested days, the files done by `processId` and their claims
 * released, its counters and the jobs' updated_at. The upserts take their row locks in array
 * order: the caller sorts.
 */
export async function markFilesDone(c: Queryable, processId: number, days: readonly IngestedDay[], files: readonly MarketFile[]): Promise<void> {
  await execute(c, {
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
      days.map((x) => x.symbol),
      days.map((x) => x.interval),
      days.map((x) => x.day),
      days.map((x) => x.dataset),
      days.map((x) => x.key),
      days.map((x) => x.etag),
      days.map((x) => x.rows),
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

/**
 * Lists (interval, symbol) pairs in bar_symbols, in one statement sorted by its key (an insert of
 * a key another transaction has just inserted waits for it: one order for all, after the bars).
 * A ticker already listed costs one index probe.
 */
export async function listTickers(c: Queryable, intervals: readonly string[], symbols: readonly string[]): Promise<void> {
  await execute(c, {
    name: 'pmd_list_tickers',
    text: `INSERT INTO bar_symbols (interval, symbol)
       SELECT * FROM unnest($1::text[], $2::text[]) AS u(interval, symbol) ORDER BY interval, symbol
       ON CONFLICT DO NOTHING`,
    values: [[...intervals], [...symbols]],
  });
}
