// What depends on which processes are alive (the liveness function, schema.ts): a job's counts and
// its process list.
import type { JobCounts } from '../../../types.js';
import type { ProcessInfo } from '../../types.js';
import { execute, type Queryable } from '../db.js';
import { toProcessInfo, type ProcessRow } from '../rows.js';

/** Whole-job counts over `jobs`; a file claimed by a dead owner counts as pending. */
export async function jobCounts(db: Queryable, jobs: readonly string[], leaseMs: number): Promise<JobCounts> {
  const [row] = await execute<{ files: number; done: number; failed: number; claimed: number }>(db, {
    name: 'pmd_job_counts',
    text: `SELECT COUNT(*) AS files,
              COUNT(*) FILTER (WHERE f.state = 'done') AS done,
              COUNT(*) FILTER (WHERE f.state = 'failed') AS failed,
              COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner IN (SELECT id FROM pmd_live_processes($2::int))) AS claimed
       FROM job_files f WHERE f.job = ANY($1::text[])`,
    values: [[...jobs], leaseMs],
  });
  const files = row?.files ?? 0;
  const done = row?.done ?? 0;
  const failed = row?.failed ?? 0;
  const claimed = row?.claimed ?? 0;
  return { files, done, failed, claimed, pending: files - done - failed - claimed };
}

/** The processes that took part in any of `jobs`, in the order they registered. */
export async function jobProcesses(db: Queryable, jobs: readonly string[], leaseMs: number): Promise<ProcessInfo[]> {
  const rows = await execute<ProcessRow>(db, {
    name: 'pmd_job_processes',
    text: `SELECT p.id, p.host, p.pid, p.started_at, p.heartbeat_at, p.ended_at, p.files_done, p.bytes,
              p.id IN (SELECT id FROM pmd_live_processes($2::int)) AS alive,
              EXTRACT(EPOCH FROM (COALESCE(p.ended_at, now()) - p.started_at))::float8 AS seconds
       FROM processes p WHERE p.jobs && $1::text[] ORDER BY p.id`,
    values: [[...jobs], leaseMs],
  });
  return rows.map(toProcessInfo);
}

