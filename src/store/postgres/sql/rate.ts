// The shared request rate (rate.ts): GCRA on one row per set of jobs, in the database's clock.
import { execute, type Queryable } from '../db.js';

/** The database's clock now, in epoch ms. */
export async function dbNow(c: Queryable): Promise<{ db_now_ms: number } | undefined> {
  const [row] = await execute<{ db_now_ms: number }>(c, { name: 'pmd_db_now', text: 'SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 * 1000 AS db_now_ms' });
  return row;
}

/**
 * Moves the rate's `next_at` by `spanMs` from the later of itself and now (a new rate: from now);
 * returns the new `next_at` and the database's clock, in epoch ms.
 */
export async function takeSlots(c: Queryable, name: string, spanMs: number): Promise<{ next_ms: number; db_now_ms: number } | undefined> {
  const [row] = await execute<{ next_ms: number; db_now_ms: number }>(c, {
    name: 'pmd_take_slots',
    text: `INSERT INTO rate_limits AS r (name, next_at) VALUES ($1, clock_timestamp() + $2::float8 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp()) + $2::float8 * interval '1 millisecond'
       RETURNING EXTRACT(EPOCH FROM r.next_at)::float8 * 1000 AS next_ms, EXTRACT(EPOCH FROM clock_timestamp())::float8 * 1000 AS db_now_ms`,
    values: [name, spanMs],
  });
  return row;
}
