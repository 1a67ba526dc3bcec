// The index by ticker of the SQLite store's day bars (schema 6). bars is keyed by day first (db.ts),
// so one ticker's 5 years of day bars lie on ~1,255 pages spread over a whole-market file; this
// covering index holds every column in (symbol, time) order, so the same read is one seek and a
// run of ~16 neighbouring pages. Day bars only (a partial index): a ticker's minute bars of a day
// already lie together under the day-major key, a seek a day reads ~400 of them, and a minute
// `--all` neither keeps it up nor builds it again. Measured side by side on a generated whole-market
// store of 1,255 days x 11,000 tickers (bench/stores/ticker-reads.ts): a random ticker's 5 years
// ~7.6 -> ~2.0 ms in the page cache, ~121 -> ~3.4 ms with the file evicted; the file 1.1 -> 2.1 GB.
//
// Kept up by SQLite on every insert, which costs ~1-5 s a whole-market day once the index outgrows
// the page cache (each day's ~11,000 rows land on ~11,000 of its pages): fine for a sync of a few
// days, ruinous for 5 years of `--all` (the ~740k rows/s ingest falls under 10k). So a run offered
// many whole-market day files drops it in the transaction of its first such commit, and it is
// built again in one sort (CREATE INDEX: ~21 s for the 13.5M rows) by Store.buildReadIndex, which a
// server calls before it listens: not at the end of that run, which would make an `--all` of 5
// years take ~1.9x as long (its ingest alone ran 24.7 s against DuckDB's 26.1 s). A run killed in
// between, like one that ended, leaves no index: reads take the day-by-day path (bars.ts), slower,
// the same rows.
import type { Database as Db } from 'better-sqlite3';

/** Name of the index; reads use it by name (INDEXED BY) while it exists. */
export const TICKER_INDEX = 'bars_by_ticker';

/** The interval the index holds; a query must name it literally for SQLite to use a partial index. */
export const TICKER_INDEX_INTERVAL = '1d';

/**
 * Every column (and the rest of the table's key, which SQLite appends): a read by ticker never
 * visits the table. SQLite has no INCLUDE, so the bar's columns are trailing key columns.
 */
export const TICKER_INDEX_DDL = `CREATE INDEX IF NOT EXISTS ${TICKER_INDEX} ON bars (symbol, time, day, open, high, low, close, volume, transactions)
  WHERE interval = '${TICKER_INDEX_INTERVAL}'`;

/**
 * Whole-market day files offered to one run from which it drops the index (to be built again in
 * one sort) rather than keep it up row by row: ~16 days of live upkeep (~1.3 s each on a 5-year
 * store) cost about one build (~21 s).
 */
export const REBUILD_FROM_FILES = 16;

/** Below this many rows an opening migration builds the index at once (well under a second). */
export const BUILD_AT_OPEN_ROWS = 200_000;

/** A question, prepared once, of whether the index exists now (a read asks it every time: ~µs). */
export function tickerIndexProbe(db: Db): () => boolean {
  const q = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?");
  return () => q.get(TICKER_INDEX) !== undefined;
}

export function hasTickerIndex(db: Db): boolean {
  return tickerIndexProbe(db)();
}

/** Whether `bars` holds at most `rows` rows (counted no further than that). */
export function barsAtMost(db: Db, rows: number): boolean {
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM bars LIMIT ?)').get(rows + 1) as { n: number };
  return n <= rows;
}

/** Drops the index, inside the caller's transaction (its pages go to the free list, for the rows that follow). */
export function dropTickerIndex(db: Db): void {
  db.exec(`DROP INDEX IF EXISTS ${TICKER_INDEX}`);
}

/**
 * Builds the index where it is missing, in a transaction of its own; returns whether it built it.
 * Holds the write lock for the build (~21 s for 5 years of the whole market): readers go on.
 */
export function buildTickerIndex(db: Db): boolean {
  if (hasTickerIndex(db)) return false;
  // IMMEDIATE: another process may have built it meanwhile; IF NOT EXISTS then does nothing.
  // SQLite's sorter threads (PRAGMA threads = 2) made it no faster on these 2 shared cores
  // (4.4M rows: 16.7 and 18.6 s without, 18.2 and 20.9 s with).
  db.transaction(() => db.exec(TICKER_INDEX_DDL)).immediate();
  return true;
}
