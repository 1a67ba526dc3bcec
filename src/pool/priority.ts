// The worker threads' CPU priority. An `--all` run is capped by its one store writer on the main
// thread (SQLite's inserts, or the PostgreSQL server beside it), while the threads' parsing has
// room to spare: on 2 cores the threads taking the writer's core slowed the whole run. Linux
// gives each thread its own nice value, set through its thread id.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's priority by `nice` (0 leaves it). Linux only: elsewhere a thread id
 * is no process id, and setPriority would reach another process. Best effort: without /proc or
 * the permission the thread keeps its priority.
 */
export function lowerThreadPriority(nice: number): boolean {
  if (nice <= 0 || process.platform !== 'linux') return false;
  try {
    // /proc/thread-self -> "<pid>/task/<tid>"
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
