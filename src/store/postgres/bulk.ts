// The merge of an `--all` file: every stored bar of its (interval, day) that belongs to its
// dataset's tickers is replaced by the file's rows, inside the caller's transaction (the one that
// marks the file done). bars is keyed (interval, day, symbol, time): the day is one contiguous
// range of the key, deleted and appended in one place. Rows go in by COPY binary straight into
// bars when none of their keys is stored any more after the delete (the usual case), else through
// a staging table and one INSERT ... ON CONFLICT (bench/pg-bulk.ts measured both).
//
// Lock order, as in merge.ts: the caller has locked the files' job_files rows; then, per file in
// (interval, day) order, an advisory lock on the day (two --all merges of one day queue behind
// each other: the second sees the first's rows, and deletes them), then the day's bars in key
// order, then the inserts; bar_symbols after every file's bars (merge.ts listTickers).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DayFile, RowColumns } from '../../types.js';
import { allScope, tickerPrefix } from '../scope.js';
import type { JobSpec } from '../types.js';
import { binaryTuples, lastOfEachKey } from './binary.js';
import { DAY_LOCK_NAMESPACE } from './schema.js';

/** An `--all` file whose rows are at hand (a small file: its columns) or staged (a sink's table). */
export interface MarketFile {
  job: JobSpec;
  file: DayFile;
}

/** One ingested_days row: a ticker's day (or an --all job's scope's day) and the file it came from. */
export interface IngestedDay {
  symbol: string;
  interval: string;
  day: string;
  dataset: string;
  key: string;
  etag: string;
  rows: number;
}

/** The one ingested day an --all file records: under its dataset's scope, with the file's row count. */
export function scopeDay(m: MarketFile, rows: number): IngestedDay {
  return { symbol: allScope(m.job.dataset), interval: m.job.interval, day: m.file.day, dataset: m.job.dataset, key: m.file.key, etag: m.file.etag, rows };
}

/** The staging tables' columns: what a row of a file is, `seq` saying which of two rows of one key came last. */
export const STAGE_COLUMNS = `seq bigint, symbol text, time bigint, open float8, high float8, low float8, close float8, volume float8, transactions bigint`;

/** Bars of the dataset's tickers: `$3` is its ticker prefix (scope.ts), NULL for stocks (tickers without ':'). */
const OF_DATASET = `(CASE WHEN $3::text IS NULL THEN strpos(symbol, ':') = 0 ELSE starts_with(symbol, $3::text) END)`;

const UNIQUE_VIOLATION = '23505';

/** Code-unit order of (interval, day): the order every process takes the days' locks in. */
export function byDay(a: MarketFile, b: MarketFile): number {
  const x = `${a.job.interval}\n${a.file.day}`;
  const y = `${b.job.interval}\n${b.file.day}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Locks the file's (interval, day) against other --all merges, then locks (in key order) and
 * deletes every bar of that day belonging to the dataset's tickers. Other datasets' bars of the
 * day (crypto `X:` beside stocks) stay.
 */
export async function clearMarketDay(c: pg.PoolClient, m: MarketFile): Promise<void> {
  const values = [m.job.interval, m.file.day, tickerPrefix(m.job.dataset) ?? null];
  await c.query({ name: 'pmd_all_lock', text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))', values: [DAY_LOCK_NAMESPACE, `${m.job.interval}\n${m.file.day}`] });
  // Locked first in key order, as merge.ts locks a ticker's days, then deleted by the predicate
  // (the rows are ours by then; a join back by key would cost a second lookup per row).
  await c.query({
    name: 'pmd_all_lock_day',
    text: `SELECT COUNT(*) FROM (SELECT 1 FROM bars WHERE interval = $1 AND day = $2 AND ${OF_DATASET} ORDER BY interval, day, symbol, time FOR UPDATE) l`,
    values,
  });
  await c.query({ name: 'pmd_all_delete_day', text: `DELETE FROM bars WHERE interval = $1 AND day = $2 AND ${OF_DATASET}`, values });
}

/**
 * Inserts a file's rows (after {@link clearMarketDay}): a (ticker, time) twice keeps the last,
 * NaN transactions become NULL. Returns the file's row count.
 */
export async function insertColumns(c: pg.PoolClient, m: MarketFile, cols: RowColumns): Promise<number> {
  if (cols.length === 0) return 0;
  const keep = lastOfEachKey(cols);
  await c.query('SAVEPOINT pmd_direct');
  try {
    await pipeline(
      Readable.from(binaryTuples(cols, { constants: [m.job.interval, m.file.day] }, keep)),
      c.query(copyFrom('COPY bars (symbol, interval, day, time, open, high, low, close, volume, transactions) FROM STDIN (FORMAT binary)')),
    );
    await c.query('RELEASE SAVEPOINT pmd_direct');
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
    // A key of the day committed meanwhile by a ticker job's merge (which takes no day lock):
    // the slower path that updates it.
    await c.query('ROLLBACK TO SAVEPOINT pmd_direct');
    await c.query(`CREATE TEMP TABLE pmd_all_incoming (${STAGE_COLUMNS}) ON COMMIT DROP`);
    await pipeline(Readable.from(binaryTuples(cols, { seqBase: 0 })), c.query(copyFrom('COPY pmd_all_incoming FROM STDIN (FORMAT binary)')));
    await upsertStaged(c, m, 'pmd_all_incoming');
    await c.query('DROP TABLE pmd_all_incoming');
  }
  return cols.length;
}

/**
 * Inserts the rows staged in `table` (after {@link clearMarketDay}). `unique`: the stager saw
 * every key once, so a plain INSERT is tried first (under a savepoint: a key committed meanwhile
 * by a ticker job's merge falls back to the upsert).
 */
export async function insertStaged(c: pg.PoolClient, m: MarketFile, table: string, unique: boolean): Promise<void> {
  if (unique) {
    await c.query('SAVEPOINT pmd_direct');
    try {
      await c.query(
        `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
         SELECT symbol, $1, time, $2, open, high, low, close, volume, transactions FROM ${table}`,
        [m.job.interval, m.file.day],
      );
      await c.query('RELEASE SAVEPOINT pmd_direct');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      await c.query('ROLLBACK TO SAVEPOINT pmd_direct');
    }
  }
  await upsertStaged(c, m, table);
}

/** One INSERT ... ON CONFLICT from a staging table; DISTINCT ON keeps the last of a key (ON CONFLICT may not touch a row twice). */
async function upsertStaged(c: pg.PoolClient, m: MarketFile, table: string): Promise<void> {
  await c.query(
    `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
     SELECT DISTINCT ON (symbol, time) symbol, $1, time, $2, open, high, low, close, volume, transactions
     FROM ${table} ORDER BY symbol, time, seq DESC
     ON CONFLICT (interval, day, symbol, time) DO UPDATE SET
       open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
       volume = excluded.volume, transactions = excluded.transactions`,
    [m.job.interval, m.file.day],
  );
}
