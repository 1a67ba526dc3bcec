// A process's row in `processes`: registered by its session, kept fresh by its heartbeat, ended
// when it closes; a replacement session takes over the claims of the ids it had before.
import { execute, type Queryable } from '../db.js';

/**
 * The server notices a peer that vanished (power cut) within ~15 s instead of hours, and then
 * drops the session and its lock. set_config(..., false) is SET for the session, in one statement.
 */
export async function setKeepalives(session: Queryable): Promise<void> {
  await execute(session, {
    name: 'pmd_keepalives',
    text: `SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '2', false),
              set_config('tcp_keepalives_count', '5', false)`,
  });
}

/** A new process on `jobs`; returns its id. */
export async function insertProcess(c: Queryable, jobs: readonly string[], host: string, pid: number): Promise<number> {
  const [row] = await execute<{ id: number }>(c, {
    name: 'pmd_insert_process',
    // clock_timestamp(): now() is the transaction's start, before any wait for a clear.
    text: 'INSERT INTO processes (jobs, host, pid, heartbeat_at) VALUES ($1, $2, $3, clock_timestamp()) RETURNING id',
    values: [[...jobs], host, pid],
  });
  if (!row) throw new Error('INSERT INTO processes returned no row');
  return row.id;
}

/** Ends the `former` ids' rows and moves the files they still hold claimed to `id`. */
export async function adoptClaims(c: Queryable, id: number, former: readonly number[]): Promise<void> {
  await execute(c, {
    name: 'pmd_adopt_claims',
    text: `WITH ended AS (UPDATE processes SET ended_at = now() WHERE id = ANY($2::int[]) AND ended_at IS NULL RETURNING 1)
       UPDATE job_files SET owner = $1, claimed_at = now() WHERE state = 'claimed' AND owner = ANY($2::int[])`,
    values: [id, [...former]],
  });
}

export async function heartbeat(session: Queryable, id: number): Promise<void> {
  await execute(session, { name: 'pmd_heartbeat', text: 'UPDATE processes SET heartbeat_at = now() WHERE id = $1', values: [id] });
}

/** The process closed: ended now (its last heartbeat too). */
export async function endProcess(db: Queryable, id: number): Promise<void> {
  await execute(db, { name: 'pmd_end_process', text: 'UPDATE processes SET ended_at = now(), heartbeat_at = now() WHERE id = $1', values: [id] });
}
