// Sweeping the staging tables of sinks whose process is not live (sink.ts).
import { execute, type Queryable } from '../db.js';

/** The tables named by `pattern` (a sink's name: `pmd_sink_<process>_<n>`) whose process is not live. */
export async function deadSinks(db: Queryable, pattern: string, leaseMs: number): Promise<string[]> {
  const rows = await execute<{ name: string }>(db, {
    name: 'pmd_dead_sinks',
    text: `SELECT c.relname AS name FROM pg_class c
     WHERE c.relkind = 'r' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
       AND c.relname ~ $1 AND split_part(c.relname, '_', 3)::int NOT IN (SELECT id FROM pmd_live_processes($2::int))`,
    values: [pattern, leaseMs],
  });
  return rows.map((r) => r.name);
}

/** Gives up a lock wait after 1 s, to the end of the transaction (SET LOCAL lock_timeout, as one statement). */
export async function shortLockTimeout(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_short_lock_timeout', text: "SELECT set_config('lock_timeout', '1s', true)" });
}
