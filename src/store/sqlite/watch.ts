// Whether another connection committed to the SQLite file: `PRAGMA data_version` on this
// connection changes when any other connection (another process, or a preload's own connection
// in this one) commits. SQLite has no notification across processes, so it is polled: measured
// here on the bench's 1.1 GB whole-market file, a poll costs ~2.4 µs of the event loop (a
// prepared pragma, no I/O beyond the WAL index in shared memory), so 10 polls a second cost
// nothing measurable and bound a stale answer to 100 ms (a poll per request would add 2.4 µs to
// each cached answer, which the bench serves in ~140 µs each).
import type { Db } from './db.js';

/** How often the file is polled for commits of other connections (ms). */
export const WATCH_INTERVAL_MS = 100;

/** Polls `db` until the function returned is called; `onChange` after each commit seen. */
export function watchDataVersion(db: Db, onChange: () => void, intervalMs = WATCH_INTERVAL_MS): () => Promise<void> {
  const version = db.prepare('PRAGMA data_version').pluck();
  let last = version.get() as number;
  const timer = setInterval(() => {
    let now: number;
    try {
      now = version.get() as number;
    } catch {
      // The store was closed under the watcher: nothing more to see.
      clearInterval(timer);
      return;
    }
    if (now === last) return;
    last = now;
    onChange();
  }, intervalMs);
  // A watcher never keeps a process alive on its own.
  timer.unref();
  return async () => clearInterval(timer);
}
