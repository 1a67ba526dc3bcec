import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigurationError } from '../errors.js';

export type Db = Database.Database;

/** File name of the cache inside the cache directory. */
export const CACHE_FILE = 'market-data.sqlite';

// One file holds bars and progress: a key is marked done in the same transaction that merges
// its bars, and SQLite transactions are atomic only within one WAL database.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS bars (
  symbol TEXT NOT NULL,
  interval TEXT NOT NULL,
  time INTEGER NOT NULL,
  open REAL NOT NULL,
  high REAL NOT NULL,
  low REAL NOT NULL,
  close REAL NOT NULL,
  volume REAL NOT NULL,
  transactions INTEGER,
  PRIMARY KEY (symbol, interval, time)
) WITHOUT ROWID;

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
    throw new ConfigurationError(`Cache directory ${cacheDir} is not writable (${(cause as NodeJS.ErrnoException).code ?? cause})`, {
      cause,
    });
  }
  let db: Db;
  try {
    db = new Database(join(cacheDir, CACHE_FILE));
    db.pragma('busy_timeout = 15000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
  } catch (cause) {
    throw new ConfigurationError(`Cannot open the cache in ${cacheDir}: ${(cause as Error).message}`, { cause });
  }
  return db;
}
