// The merge of an `--all` file: every stored bar of its (interval, day) that belongs to its
// dataset's tickers is replaced by the file's rows, inside the caller's transaction (the one that
// marks the file done). bars is keyed (interval, day, symbol, time): the day is one contiguous
// range of the key, deleted and appended in one place. Rows go in by COPY binary straight into
// bars when none of their keys is stored any more after the delete (the usual case), else through
// a staging table and one INSERT ... ON CONFLICT (bench/stores/pg-bulk.ts measured both).
//
// Lock order, as in merge.ts: the caller has locked the files' job_files rows; then, per file in
// (interval, day) order, an advisory lock on the day (two --all merges of one day queue behind
// each other: the second sees the first's rows, and deletes them), then the day's bars in key
// order, then the inserts; bar_symbols after every file's bars (merge.ts listTickers).
import type pg from 'pg';
import type { RowColumns } from '../../types.js';
import { allScope, tickerPrefix } from '../scope.js';
import { binaryTuples, lastOfEachKey } from './binary.js';
import type { IngestedDay, MarketFile } from './rows.js';
import {
  copyBars,
  copyStaged,
  createAllIncoming,
  deleteDayBars,
  dropStaging,
  insertStagedRows,
  lockDayBars,
  upsertStagedRows,
} from './sql/bulk.js';
import { lockDay } from './sql/locks.js';
import { releaseSavepoint, rollbackToSavepoint, savepoint } from './sql/transaction.js';

/** The one ingested day an --all file records: under its dataset's scope, with the file's row count. */
export function scopeDay(m: MarketFile, rows: number): IngestedDay {
  return { symbol: allScope(m.job.dataset), interval: m.job.interval, day: m.file.day, dataset: m.job.dataset, key: m.file.key, etag: m.file.etag, rows };
}

const UNIQUE_VIOLATION = '23505';

/** Code-unit order of (interval, day): the order every process takes the days' locks in. */
export function byDay(a: MarketFile, b: MarketFile): number {
  const x = `${a.job.interval}\n${a.file.day}`;
  const y = `${b.job.interval}\n${b.file.day}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Locks the file's (interval, day) against other --all merges, then locks (in key order) and
 * deletes every bar of that day belonging to the dataset's tickers (`beforeDelete` runs once they
 * are locked). Other datasets' bars of the
 * day (crypto `X:` beside stocks) stay.
 */
export async function clearMarketDay(c: pg.PoolClient, m: MarketFile, beforeDelete?: () => Promise<void>): Promise<void> {
  const prefix = tickerPrefix(m.job.dataset) ?? null;
  await lockDay(c, m.job.interval, m.file.day);
  // Locked first in key order, as merge.ts locks a ticker's days, then deleted by the predicate
  // (the rows are ours by then; a join back by key would cost a second lookup per row).
  await lockDayBars(c, m.job.interval, m.file.day, prefix);
  // A republished file: the day's bars as they were, for its `revised` note.
  await beforeDelete?.();
  await deleteDayBars(c, m.job.interval, m.file.day, prefix);
}

/**
 * Inserts a file's rows (after {@link clearMarketDay}): a (ticker, time) twice keeps the last,
 * NaN transactions become NULL. Returns the file's row count.
 */
export async function insertColumns(c: pg.PoolClient, m: MarketFile, cols: RowColumns): Promise<number> {
  if (cols.length === 0) return 0;
  const keep = lastOfEachKey(cols);
  await savepoint(c);
  try {
    await copyBars(c, binaryTuples(cols, { constants: [m.job.interval, m.file.day] }, keep));
    await releaseSavepoint(c);
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
    // A key of the day committed meanwhile by a ticker job's merge (which takes no day lock):
    // the slower path that updates it.
    await rollbackToSavepoint(c);
    const table = await createAllIncoming(c);
    await copyStaged(c, table, binaryTuples(cols, { seqBase: 0 }));
    await upsertStagedRows(c, table, m.job.interval, m.file.day);
    await dropStaging(c, table);
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
    await savepoint(c);
    try {
      await insertStagedRows(c, table, m.job.interval, m.file.day);
      await releaseSavepoint(c);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      await rollbackToSavepoint(c);
    }
  }
  await upsertStagedRows(c, table, m.job.interval, m.file.day);
}
