// The statements of an --all file's merge (bulk.ts) and of the staging tables it reads from.
// Statements whose text names a staging table (a sink's, one per file) are not prepared: a name
// per table would leave one prepared statement per file on every pooled connection.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { execute, type Queryable } from '../db.js';

/** The staging tables' columns: what a row of a file is, `seq` saying which of two rows of one key came last. */
export const STAGE_COLUMNS = `seq bigint, symbol text, time bigint, open float8, high float8, low float8, close float8, volume float8, transactions bigint`;

/** Bars of the dataset's tickers: `$3` is its ticker prefix (scope.ts), NULL for stocks (tickers without ':'). */
const OF_DATASET = `(CASE WHEN $3::text IS NULL THEN strpos(symbol, ':') = 0 ELSE starts_with(symbol, $3::text) END)`;

/** A table name put into a statement's text: ours are plain identifiers (pmd_sink_12_3). */
export function tableName(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Not a staging table name: ${JSON.stringify(name)}`);
  return name;
}

/** Locks, in key order, the day's bars of the dataset's tickers (`prefix`: scope.ts's, null for stocks). */
export async function lockDayBars(c: Queryable, interval: string, day: string, prefix: string | null): Promise<void> {
  await execute(c, {
    name: 'pmd_all_lock_day',
    text: `SELECT COUNT(*) FROM (SELECT 1 FROM bars WHERE interval = $1 AND day = $2 AND ${OF_DATASET} ORDER BY interval, day, symbol, time FOR UPDATE) l`,
    values: [interval, day, prefix],
  });
}

/** Deletes the day's bars of the dataset's tickers; other datasets' bars of the day stay. */
export async function deleteDayBars(c: Queryable, interval: string, day: string, prefix: string | null): Promise<void> {
  await execute(c, { name: 'pmd_all_delete_day', text: `DELETE FROM bars WHERE interval = $1 AND day = $2 AND ${OF_DATASET}`, values: [interval, day, prefix] });
}

/** COPY binary straight into bars: `tuples` carry (symbol, interval, day, time, open, high, low, close, volume, transactions). */
export async function copyBars(c: pg.ClientBase, tuples: Iterable<Buffer>): Promise<void> {
  await pipeline(
    Readable.from(tuples),
    c.query(copyFrom('COPY bars (symbol, interval, day, time, open, high, low, close, volume, transactions) FROM STDIN (FORMAT binary)')),
  );
}

/** The temporary staging table of a small --all file whose direct copy met a key committed meanwhile. */
export async function createAllIncoming(c: Queryable): Promise<string> {
  await execute(c, { text: `CREATE TEMP TABLE pmd_all_incoming (${STAGE_COLUMNS}) ON COMMIT DROP` });
  return 'pmd_all_incoming';
}

/** A sink's staging table, UNLOGGED (IF NOT EXISTS: a retried CREATE whose first answer was lost finds its table). */
export async function createStaging(c: Queryable, table: string): Promise<void> {
  await execute(c, { text: `CREATE UNLOGGED TABLE IF NOT EXISTS ${tableName(table)} (${STAGE_COLUMNS})` });
}

/** COPY binary into a staging table (`tuples` with STAGE_COLUMNS). */
export async function copyStaged(c: pg.ClientBase, table: string, tuples: Iterable<Buffer>): Promise<void> {
  await pipeline(Readable.from(tuples), c.query(copyFrom(`COPY ${tableName(table)} FROM STDIN (FORMAT binary)`)));
}

export async function truncateStaging(c: Queryable, table: string): Promise<void> {
  await execute(c, { text: `TRUNCATE ${tableName(table)}` });
}

export async function dropStaging(c: Queryable, table: string): Promise<void> {
  await execute(c, { text: `DROP TABLE IF EXISTS ${tableName(table)}` });
}

/** The staged rows into bars as the (interval, day)'s, by a plain INSERT: every key must be new. */
export async function insertStagedRows(c: Queryable, table: string, interval: string, day: string): Promise<void> {
  await execute(c, {
    text: `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
         SELECT symbol, $1, time, $2, open, high, low, close, volume, transactions FROM ${tableName(table)}`,
    values: [interval, day],
  });
}

/** The staged rows into bars by one INSERT ... ON CONFLICT; DISTINCT ON keeps the last of a key (ON CONFLICT may not touch a row twice). */
export async function upsertStagedRows(c: Queryable, table: string, interval: string, day: string): Promise<void> {
  await execute(c, {
    text: `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
     SELECT DISTINCT ON (symbol, time) symbol, $1, time, $2, open, high, low, close, volume, transactions
     FROM ${tableName(table)} ORDER BY symbol, time, seq DESC
     ON CONFLICT (interval, day, symbol, time) DO UPDATE SET
       open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
       volume = excluded.volume, transactions = excluded.transactions`,
    values: [interval, day],
  });
}
