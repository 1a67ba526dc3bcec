// Which processes are alive, and the job counts and process list that depend on it. A process is
// alive while its session holds its advisory lock (PostgreSQL drops it with the connection: kill
// -9, power cut) and its heartbeat is younger than the lease (the fallback for a hung process).
import type { JobCounts } from '../../types.js';
import type { ProcessInfo } from '../types.js';
import type { Db } from './db.js';
import { toProcessInfo, type ProcessRow } from './rows.js';
import { LOCK_NAMESPACE } from './schema.js';

/** Ids of the live processes. Parameters: $2 the lock namespace, $3 the lease in ms. */
export const LIVE_SQL = `
  SELECT p.id FROM processes p
  JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = $2::int::oid AND l.objid = p.id::oid AND l.objsubid = 2
  WHERE p.ended_at IS NULL AND p.heartbeat_at > clock_timestamp() - $3::int * interval '1 millisecond'`;

/** Whole-job counts over `jobs`; a file claimed by a dead owner counts as pending. */
export async function jobCounts(db: Db, jobs: readonly string[], leaseMs: number): Promise<JobCounts> {
  const [row] = await db.query<{ files: number; done: number; failed: number; claimed: number }>(
    `SELECT COUNT(*) AS files,
              COUNT(*) FILTER (WHERE f.state = 'done') AS done,
              COUNT(*) FILTER (WHERE f.state = 'failed') AS failed,
              COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner IN (${LIVE_SQL})) AS claimed
       FROM job_files f WHERE f.job = ANY($1::text[])`,
    [[...jobs], LOCK_NAMESPACE, leaseMs],
  );
  const files = row?.files ?? 0;
  const done = row?.done ?? 0;
  const failed = row?.failed ?? 0;
  const claimed = row?.claimed ?? 0;
  return { files, done, failed, claimed, pending: files - done - failed - claimed };
}

/** The processes that took part in any of `jobs`, in the order they registered. */
export async function jobProcesses(db: Db, jobs: readonly string[], leaseMs: number): Promise<ProcessInfo[]> {
  const rows = await db.query<ProcessRow>(
    `SELECT p.id, p.host, p.pid, p.started_at, p.heartbeat_at, p.ended_at, p.files_done, p.bytes,
              p.id IN (${LIVE_SQL}) AS alive,
              EXTRACT(EPOCH FROM (COALESCE(p.ended_at, now()) - p.started_at))::float8 AS seconds
       FROM processes p WHERE p.jobs && $1::text[] ORDER BY p.id`,
    [[...jobs], LOCK_NAMESPACE, leaseMs],
  );
  return rows.map(toProcessInfo);
}
