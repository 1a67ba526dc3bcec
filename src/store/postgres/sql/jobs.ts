// The jobs a store knows: registered by prepareJob, read back by getJob, listJobs and status.
import { execute, type Queryable } from '../db.js';
import type { FileRow, JobRow } from '../rows.js';

/** A job with its done files and their bytes: one {@link JobRow} per job. */
const JOB_SELECT = `
  SELECT j.job, j.dataset, j.interval, j.symbols, j.created_at, j.updated_at,
         COALESCE(d.done, 0) AS done, COALESCE(d.bytes, 0) AS bytes
  FROM jobs j LEFT JOIN (
    SELECT job, COUNT(*) AS done, SUM(size)::bigint AS bytes FROM job_files WHERE state = 'done' GROUP BY job
  ) d ON d.job = j.job`;

/** Registers a job, or touches its updated_at when it is known. */
export async function upsertJob(db: Queryable, job: { job: string; dataset: string; interval: string; symbols: readonly string[] }): Promise<void> {
  await execute(db, {
    name: 'pmd_upsert_job',
    text: `INSERT INTO jobs (job, dataset, interval, symbols) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job) DO UPDATE SET updated_at = now()`,
    values: [job.job, job.dataset, job.interval, [...job.symbols]],
  });
}

export async function selectJob(db: Queryable, job: string): Promise<JobRow | undefined> {
  const [row] = await execute<JobRow>(db, { name: 'pmd_job', text: `${JOB_SELECT} WHERE j.job = $1`, values: [job] });
  return row;
}

/** Every job, the last updated first. */
export async function selectJobs(db: Queryable): Promise<JobRow[]> {
  return execute<JobRow>(db, { name: 'pmd_jobs', text: `${JOB_SELECT} ORDER BY j.updated_at DESC` });
}

/** Every job's definition, the last updated first. */
export async function selectJobSpecs(db: Queryable): Promise<{ job: string; dataset: string; interval: string; symbols: string[] }[]> {
  return execute(db, { name: 'pmd_job_specs', text: 'SELECT job, dataset, interval, symbols FROM jobs ORDER BY updated_at DESC' });
}

/** The files of `job` that are done. */
export async function doneFiles(db: Queryable, job: string): Promise<FileRow[]> {
  return execute<FileRow>(db, {
    name: 'pmd_done_files',
    text: `SELECT key, size, etag, last_modified FROM job_files WHERE job = $1 AND state = 'done'`,
    values: [job],
  });
}
