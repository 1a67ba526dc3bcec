// The index by ticker of the PostgreSQL store's day bars. bars is keyed (interval, day, symbol,
// time), day first for the whole-market ingest, so without it a ticker's read probes the key once
// per calendar day of its window. Measured on one embedded PostgreSQL holding 1,255 whole-market
// days (13.8M rows; bench/stores/pg-ticker-reads.ts): a random ticker's 5 years took a median of
// 30.2 ms that way, and 2.65 ms along this covering index with a day range (an index-only scan in
// order, 29 buffers). Its price: 1,355 MB beside the table's 1,452 MB, and kept up through the
// merges it made 10 more whole-market days 4.5x slower (297 -> 1,340 ms). So, as the SQLite store
// does (../../sqlite/ticker-index.ts), a run offered many whole-market day files drops it before
// its commits, and Store.buildReadIndex builds it again in one pass (20.8 s for those 5 years, and
// 2.7 s of VACUUM), which a server does before it listens. Without it, reads probe day by day:
// slower, the same rows. Day bars only (a partial index): a ticker's minutes of a day already lie
// together under the day-major key.
//
// Not part of the schema version: a store without it reads right, and a release that does not
// know it keeps it up on its merges like any index.
import { setTimeout as sleep } from 'node:timers/promises';
import { execute, type Queryable } from '../db.js';
import { INDEX_BUILD_LOCK, LOCK_NAMESPACE } from './locks.js';

/** Name of the index (on the search path, as the tables). */
export const TICKER_INDEX = 'bars_by_ticker';

/** The interval the index holds; a query names it literally so the planner may use the partial index. */
export const TICKER_INDEX_INTERVAL = '1d';

/** Whole-market day files offered to one run from which it drops the index rather than keep it up. */
export const REBUILD_FROM_FILES = 16;

/** How often a process waiting for another's build asks for the build lock again. */
const BUILD_POLL_MS = 250;

/** Below this many rows in bars, opening the store builds a missing index at once (well under a second). */
export const BUILD_AT_OPEN_ROWS = 200_000;

/** The index's definition; CONCURRENTLY builds it without blocking merges (outside any transaction). */
export const tickerIndexDdl = (concurrently: boolean): string =>
  `CREATE INDEX ${concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${TICKER_INDEX} ON bars (symbol, time, day)
     INCLUDE (open, high, low, close, volume, transactions) WHERE interval = '${TICKER_INDEX_INTERVAL}'`;

/** Drops it without blocking readers or writers (outside any transaction; it waits for the transactions using bars to end). */
const DROP_SQL = `DROP INDEX CONCURRENTLY IF EXISTS ${TICKER_INDEX}`;

/**
 * SQL of whether the index exists and may be read (an interrupted concurrent build or drop leaves
 * it invalid: the planner ignores it, and so must a read choosing its statement).
 */
export const INDEX_VALID_SQL = `COALESCE((SELECT i.indisvalid AND i.indisready FROM pg_index i WHERE i.indexrelid = to_regclass('${TICKER_INDEX}')), false)`;

/** 'missing', 'valid', or 'invalid' (left by an interrupted concurrent build or drop). */
export async function tickerIndexState(c: Queryable): Promise<'missing' | 'valid' | 'invalid'> {
  const [row] = await execute<{ found: boolean; valid: boolean }>(c, {
    name: 'pmd_ticker_index_state',
    text: `SELECT to_regclass('${TICKER_INDEX}') IS NOT NULL AS found, ${INDEX_VALID_SQL} AS valid`,
  });
  return row?.found !== true ? 'missing' : row.valid ? 'valid' : 'invalid';
}

/**
 * At open, inside the schema transaction: builds the index where it is missing and bars is small
 * (a fresh store, or one a few whole-market days long). A large store's is left to buildReadIndex:
 * an opening reader must not wait on it. Every open asks (a read opens the store each call), so
 * the planner's row estimate answers first where it says large: counting would read
 * BUILD_AT_OPEN_ROWS rows at every open until a server builds the index. An estimate under it, or
 * none (-1: never analyzed), is checked by counting.
 */
export async function buildAtOpen(c: Queryable): Promise<void> {
  if ((await tickerIndexState(c)) !== 'missing') return;
  const [estimate] = await execute<{ rows: number }>(c, { text: "SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'bars'::regclass" });
  if ((estimate?.rows ?? -1) > BUILD_AT_OPEN_ROWS) return;
  const [row] = await execute<{ small: boolean }>(c, {
    text: 'SELECT count(*) <= $1 AS small FROM (SELECT 1 FROM bars LIMIT $1 + 1) b',
    values: [BUILD_AT_OPEN_ROWS],
  });
  if (row?.small === true) await execute(c, { text: tickerIndexDdl(false) });
}

/** Drops the index where it is (DROP_SQL). Resolves whether it dropped one. */
export async function dropTickerIndex(c: Queryable): Promise<boolean> {
  if ((await tickerIndexState(c)) === 'missing') return false;
  await execute(c, { text: DROP_SQL });
  return true;
}

/**
 * Builds the index where it is missing or invalid, concurrently (reads and merges go on), under a
 * session lock so that several servers starting at once build it once. `c` must be one session,
 * outside any transaction. Resolves whether it built it; `onBuild` is called first when it does.
 */
export async function buildTickerIndex(c: Queryable, onBuild?: () => void): Promise<boolean> {
  // Tried, not waited for: a session waiting on the lock is a transaction, and a concurrent build
  // waits for every transaction older than its snapshot to end (PostgreSQL reports the deadlock).
  for (;;) {
    const [row] = await execute<{ got: boolean }>(c, { text: 'SELECT pg_try_advisory_lock($1, $2) AS got', values: [LOCK_NAMESPACE, INDEX_BUILD_LOCK] });
    if (row?.got === true) break;
    await sleep(BUILD_POLL_MS);
  }
  try {
    const state = await tickerIndexState(c);
    if (state === 'valid') return false;
    onBuild?.();
    // IF NOT EXISTS would keep an invalid one: it goes first.
    if (state === 'invalid') await execute(c, { text: DROP_SQL });
    await execute(c, { text: tickerIndexDdl(true) });
    // The visibility map an index-only scan needs (rows a bulk load just wrote have none until a
    // vacuum; autovacuum comes when it comes): on 1,255 whole-market days a ticker read in 25.2 ms
    // before it, 2.65 ms after; it took 2.7 s.
    await execute(c, { text: 'VACUUM (ANALYZE) bars' });
    return true;
  } finally {
    await execute(c, { text: 'SELECT pg_advisory_unlock($1, $2)', values: [LOCK_NAMESPACE, INDEX_BUILD_LOCK] });
  }
}
