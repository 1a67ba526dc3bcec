// The SQLite cache's sync lock: one sync at a time on a cache (a shared store needs none: its
// syncs share the work like any job).
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BusyError } from '../../errors.js';

/**
 * The SQLite cache's sync lock: a file holding the owner's pid, created exclusively. A lock whose
 * process is gone (killed) is taken over.
 */
export function lockCache(cacheDir: string): () => void {
  const path = join(cacheDir, 'sync.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // No cache directory yet: nothing to sync (the store says so when opened).
        return () => {};
      }
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readSafe(path), 10);
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new BusyError(`Another sync (pid ${owner}) is still running on ${cacheDir}: this one stops; the next one catches up`);
      }
      // Its process is gone: the lock is stale.
      try {
        unlinkSync(path);
      } catch {
        // Another sync took it over first: the next attempt sees its lock.
      }
    }
  }
  throw new BusyError(`Another sync is starting on ${cacheDir}: this one stops; the next one catches up`);
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
