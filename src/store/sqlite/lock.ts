// The SQLite cache's sync lock: one sync at a time on a cache (a shared store needs none: its
// syncs share the work like any job).
//
// The lock is SQLite's own file lock on a small database of its own, held by an open exclusive
// transaction for the whole sync. The kernel drops it with the process (exit, kill -9, an
// out-of-memory kill), so there is no pid to judge and no stale lock to clean up: a lock that
// can be taken is free. It replaced a pid file judged by kill(pid, 0), which a process reusing
// the pid (pid 1 in a container, pids repeating from boot to boot) held for ever.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BusyError, ConfigurationError } from '../../errors.js';

/**
 * File name of the lock database inside the cache directory. Not `sync.lock`, the pid file of
 * earlier releases: a leftover one is never read, so it cannot block. A name of its own is safer
 * than replacing that file when it is not a lock database: a lock file must never be deleted or
 * renamed over, since a lock held on an unlinked file excludes nobody (the next sync would lock a
 * new file at the same path), and two syncs that each "replace an old pid file" at once could
 * each end up holding a lock on a different file. This file is created once and never removed;
 * it stays empty (no page is ever written, so nothing in it can be left half-written by a kill).
 * Nothing but SQLite may open it in a process that holds it: closing any descriptor of a file
 * drops the process's POSIX locks on it, and SQLite guards only its own descriptors.
 */
export const LOCK_FILE = 'sync-lock.sqlite';

/**
 * Takes the SQLite cache's sync lock in `cacheDir` (creating the directory and the lock file
 * where missing) and holds it until the function returned is called or the process ends,
 * however it ends.
 *
 * @throws {BusyError} another sync (any process, this one included) holds it: at once, no waiting.
 * @throws {ConfigurationError} the lock file cannot be created or is not a database.
 */
export function lockCache(cacheDir: string): () => void {
  const path = join(cacheDir, LOCK_FILE);
  let db: Database.Database;
  try {
    mkdirSync(cacheDir, { recursive: true });
    // timeout 0: a held lock answers SQLITE_BUSY at once instead of after a 5 s wait.
    db = new Database(path, { timeout: 0 });
  } catch (error) {
    throw new ConfigurationError(`Cannot create the sync lock ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // EXCLUSIVE locking mode keeps the file lock for as long as the connection is open, and
    // BEGIN EXCLUSIVE takes SQLite's EXCLUSIVE lock now (an fcntl lock, which SQLite also
    // honours between connections of one process): any other opener, reader or writer, gets
    // SQLITE_BUSY. The transaction stays open, writing nothing, until release.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new BusyError(`Another sync holds the lock on ${cacheDir} (${LOCK_FILE}) and is still running: this one stops; the next one catches up`);
    }
    // Not a lock of ours (something else wrote there): say so rather than guess.
    throw new ConfigurationError(`Cannot take the sync lock ${path}: ${(error as Error).message}. It is not a lock this program wrote: remove it while no sync runs.`, {
      cause: error,
    });
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    // Closing rolls the empty transaction back and drops the file lock.
    db.close();
  };
}
