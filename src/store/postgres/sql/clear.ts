// Forgetting a job's progress (clear.ts): the live processes on it, then its files, its tickers'
// ingested days and coverage, and its row, all in the caller's transaction.
import { execute, type Queryable } from '../db.js';

/** A live process registered on a job. */
export interface LiveProcess {
  id: number;
  host: string;
  pid: number;
}

/** The live processes registered on `job`, in the order they registered. */
export async function liveOnJob(c: Queryable, job: string, leaseMs: number): Promise<LiveProcess[]> {
  return execute<LiveProcess>(c, {
    name: 'pmd_live_on_job',
    text: 'SELECT p.id, p.host, p.pid FROM processes p WHERE $1 = ANY(p.jobs) AND p.id IN (SELECT id FROM pmd_live_processes($2::int)) ORDER BY p.id',
    values: [job, leaseMs],
  });
}

/** Deletes the job's files; returns how many of them were done. */
export async function deleteJobFiles(c: Queryable, job: string): Promise<number> {
  const [row] = await execute<{ done: number }>(c, {
    name: 'pmd_delete_job_files',
    text: `WITH gone AS (DELETE FROM job_files WHERE job = $1 RETURNING state)
           SELECT COUNT(*) FILTER (WHERE state = 'done') AS done FROM gone`,
    values: [job],
  });
  return row?.done ?? 0;
}

export async function deleteIngestedDays(c: Queryable, tickers: readonly string[], interval: string): Promise<void> {
  await execute(c, { name: 'pmd_delete_ingested_days', text: 'DELETE FROM ingested_days WHERE symbol = ANY($1::text[]) AND interval = $2', values: [[...tickers], interval] });
}

export async function deleteCoverage(c: Queryable, tickers: readonly string[], interval: string): Promise<void> {
  await execute(c, { name: 'pmd_delete_coverage', text: 'DELETE FROM coverage WHERE symbol = ANY($1::text[]) AND interval = $2', values: [[...tickers], interval] });
}

export async function deleteJob(c: Queryable, job: string): Promise<void> {
  await execute(c, { name: 'pmd_delete_job', text: 'DELETE FROM jobs WHERE job = $1', values: [job] });
}
