import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigurationError } from '../../errors.js';
import { BUILD_AT_OPEN_ROWS, barsAtMost, TICKER_INDEX_DDL } from './ticker-index.js';

export type Db = Database.Database;

/** File name of the cache inside the cache directory. */
export const CACHE_FILE = 'market-data.sqlite';
/**
 * Bumped whenever the schema changes; a cache of another version is refused, not misread, unless
 * it is one that MIGRATABLE lists: it is then brought up in place, its bars kept (3 added corporate
 * actions; 4 keyed bars by day first, see BARS_TABLE; 5 added file_findings; 6 the index by ticker,
 * ticker-index.ts; 7 added actions_market, the whole market's corporate actions fetched at once).
 */
export const SCHEMA_VERSION = 7;
const MIGRATABLE = new Set([2, 3, 4, 5, 6]);

// Bars are keyed by (interval, day, symbol, time): a day file's rows, whether one ticker's or the
// whole market's, are appended in one place, where keying by symbol first put a whole-market day
// at 11,000 places of the table and wrote ~11,000 pages a file (bench/stores/sqlite-bulk.ts: ~25k rows/s
// once the table outgrew the page cache, against ~1M). Reads of a ticker's day bars go through a
// covering index in ticker order, bars_by_ticker (ticker-index.ts: a random ticker's 5 years ~2 ms, ~3.4 ms from
// disk, against ~7.6 and ~121 ms seeking day by day), which a large `--all` run drops and a server
// builds again before it listens; without it a read seeks once per day (bars.ts). bar_symbols lists the
// tickers that have bars, and bar_days the days that fallback seeks.
const BARS_TABLE = `
CREATE TABLE IF NOT EXISTS bars (
  symbol TEXT NOT NULL,
  interval TEXT NOT NULL,
  time INTEGER NOT NULL,
  -- The day file the bar came from: a window is a range of files, whatever the time zone.
  day TEXT NOT NULL,
  open REAL NOT NULL,
  high REAL NOT NULL,
  low REAL NOT NULL,
  close REAL NOT NULL,
  volume REAL NOT NULL,
  transactions INTEGER,
  PRIMARY KEY (interval, day, symbol, time)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS bar_symbols (
  interval TEXT NOT NULL,
  symbol TEXT NOT NULL,
  PRIMARY KEY (interval, symbol)
) WITHOUT ROWID;

-- The days that have bars of each interval: a ticker's read seeks those, not every calendar day.
CREATE TABLE IF NOT EXISTS bar_days (
  interval TEXT NOT NULL,
  day TEXT NOT NULL,
  PRIMARY KEY (interval, day)
) WITHOUT ROWID;
`;

// One file holds bars and progress: a key is marked done in the same transaction that merges
// its bars, and SQLite transactions are atomic only within one WAL database.
const SCHEMA = `${BARS_TABLE}
CREATE TABLE IF NOT EXISTS ingested_days (
  symbol TEXT NOT NULL,
  interval TEXT NOT NULL,
  day TEXT NOT NULL,
  dataset TEXT NOT NULL,
  key TEXT NOT NULL,
  etag TEXT NOT NULL,
  rows INTEGER NOT NULL,
  PRIMARY KEY (symbol, interval, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS coverage (
  symbol TEXT NOT NULL,
  interval TEXT NOT NULL,
  start TEXT NOT NULL,
  end TEXT NOT NULL,
  PRIMARY KEY (symbol, interval, start, end)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS progress_jobs (
  job TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  interval TEXT NOT NULL,
  symbols TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS progress_keys (
  job TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified TEXT,
  done_at TEXT NOT NULL,
  PRIMARY KEY (job, key)
) WITHOUT ROWID;

-- Corporate actions from the provider's REST API, as given (duplicates included: they are
-- dropped when reading, with a note), and when each ticker's were fetched.
CREATE TABLE IF NOT EXISTS splits (
  ticker TEXT NOT NULL,
  execution_date TEXT NOT NULL,
  split_from REAL NOT NULL,
  split_to REAL NOT NULL,
  adjustment_type TEXT NOT NULL,
  historical_adjustment_factor REAL,
  id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS splits_by_ticker ON splits (ticker, execution_date);

CREATE TABLE IF NOT EXISTS dividends (
  ticker TEXT NOT NULL,
  ex_dividend_date TEXT NOT NULL,
  cash_amount REAL NOT NULL,
  currency TEXT,
  distribution_type TEXT,
  frequency INTEGER,
  pay_date TEXT,
  record_date TEXT,
  declaration_date TEXT,
  split_adjusted_cash_amount REAL,
  historical_adjustment_factor REAL,
  id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dividends_by_ticker ON dividends (ticker, ex_dividend_date);

CREATE TABLE IF NOT EXISTS actions_fetched (
  ticker TEXT PRIMARY KEY,
  fetched_at TEXT NOT NULL
);

-- When the whole market's actions were listed at once (actions --all): one row, standing for
-- every stock ticker that actions_fetched has no newer row for (actions.ts).
CREATE TABLE IF NOT EXISTS actions_market (
  market TEXT PRIMARY KEY,
  fetched_at TEXT NOT NULL
);

-- What a run saw in a file (a misdated day file, minute rows outside their day), for check.
CREATE TABLE IF NOT EXISTS file_findings (
  job TEXT NOT NULL,
  dataset TEXT NOT NULL,
  key TEXT NOT NULL,
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  seen_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS file_findings_by_file ON file_findings (job, key);
CREATE INDEX IF NOT EXISTS file_findings_by_day ON file_findings (dataset, day);
`;

/**
 * Opens (creating if needed) the cache database in `cacheDir`: WAL so readers never block the
 * writer, a busy timeout so two processes can share it, NORMAL sync (a crash of the process
 * loses nothing committed; only a power cut may drop the last transactions).
 */
export function openDatabase(cacheDir: string): Db {
  try {
    mkdirSync(cacheDir, { recursive: true });
    accessSync(cacheDir, constants.W_OK);
  } catch (cause) {
    throw new ConfigurationError(`Cache directory ${cacheDir} is not writable (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, {
      cause,
    });
  }
  // Switching a fresh file to WAL needs a moment alone with it, and SQLite answers SQLITE_BUSY at
  // once there instead of waiting out the busy timeout: another process is opening the same fresh
  // cache. Try again until the busy timeout would have run out.
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return initDatabase(cacheDir);
    } catch (cause) {
      if (cause instanceof ConfigurationError) throw cause;
      const code = (cause as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_BUSY') && Date.now() < deadline) {
        Atomics.wait(SLEEP, 0, 0, Math.min(100, 5 * attempt));
        continue;
      }
      throw new ConfigurationError(`Cannot open the cache in ${cacheDir}: ${(cause as Error).message}`, { cause });
    }
  }
}

const BUSY_TIMEOUT_MS = 15_000;
/** Page cache of a connection that reads (KiB). */
const READ_CACHE_KIB = 2_000;
/** Page cache of a connection a run writes through (KiB): better-sqlite3's default. */
export const WRITE_CACHE_KIB = 16_000;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

function initDatabase(cacheDir: string): Db {
  const db = new Database(join(cacheDir, CACHE_FILE));
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A small page cache for reads: every fetchSymbol opens a connection afresh, and its first
    // read of a ticker's 5y (one page per day of a whole-market, day-keyed table) took ~100 ms
    // with the 16 MB default and ~20 ms with 2 MB, measured here. A run's queue raises it for its
    // bulk writes (WRITE_CACHE_KIB, store.ts).
    db.pragma(`cache_size = -${READ_CACHE_KIB}`);
    // Staging of large files (staging.ts) in a temp file, never in memory, whatever the build's default.
    db.pragma('temp_store = FILE');
    // A cache at this version has its tables (they were created in the transaction that set it):
    // no write transaction then, which every read would otherwise pay for (and a WAL frame each).
    if ((db.pragma('user_version', { simple: true }) as number) === SCHEMA_VERSION) return db;
    // One write transaction for check, tables and version: a second process opening a fresh
    // cache at the same moment must not see the tables before their version.
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      const fresh = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'bars'").get() as { n: number };
      if (version !== SCHEMA_VERSION && !MIGRATABLE.has(version) && (version !== 0 || fresh.n > 0)) {
        throw new ConfigurationError(
          `The cache in ${cacheDir} was written by another version of preload-market-data (schema ${version}, expected ${SCHEMA_VERSION}): move ${CACHE_FILE} away and preload again`,
        );
      }
      if (version === 2 || version === 3) rekeyBars(db);
      db.exec(SCHEMA);
      // The index by ticker: built here for a fresh or small cache; a large one migrated from
      // schema 5 or earlier gets it from Store.buildReadIndex (ticker-index.ts), not from a reader
      // that opened it and would wait on a build of a minute without a word.
      if (barsAtMost(db, BUILD_AT_OPEN_ROWS)) db.exec(TICKER_INDEX_DDL);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Schemas 2 and 3 keyed bars by (symbol, interval, time) with an index by (symbol, interval, day):
 * their rows are copied into the table of schema 4 in its key order, inside the opening
 * transaction (a crash leaves the old cache as it was).
 */
function rekeyBars(db: Db): void {
  db.exec(`
    ALTER TABLE bars RENAME TO bars_v3;
    ${BARS_TABLE}
    INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
      SELECT symbol, interval, time, day, open, high, low, close, volume, transactions FROM bars_v3
      ORDER BY interval, day, symbol, time;
    INSERT OR IGNORE INTO bar_symbols (interval, symbol) SELECT DISTINCT interval, symbol FROM bars_v3;
    INSERT OR IGNORE INTO bar_days (interval, day) SELECT DISTINCT interval, day FROM bars;
    DROP TABLE bars_v3;`);
}
