import type { Db } from './db.js';
import type { DoneKey, JobProgress } from '../types.js';

export type { DoneKey, JobProgress };

interface JobRow {
  job: string;
  dataset: string;
  interval: string;
  symbols: string;
  created_at: string;
  updated_at: string;
  done: number;
  bytes: number | null;
}

const JOB_SELECT = `
  SELECT j.*, COUNT(k.key) AS done, SUM(k.size) AS bytes
  FROM progress_jobs j LEFT JOIN progress_keys k ON k.job = j.job`;

/**
 * Completed keys per job. `markDone` is meant to run inside the transaction that merges the
 * key's bars, so no key is ever recorded without its bars.
 */
export class ProgressStore {
  readonly #db: Db;
  readonly #mark;
  readonly #touch;

  constructor(db: Db) {
    this.#db = db;
    this.#mark = db.prepare(
      'INSERT OR REPLACE INTO progress_keys (job, key, size, etag, last_modified, done_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#touch = db.prepare(`
      INSERT INTO progress_jobs (job, dataset, interval, symbols, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (job) DO UPDATE SET updated_at = excluded.updated_at`);
  }

  /** Creates the job's record if needed and stamps it as updated now. */
  touchJob(job: string, dataset: string, interval: string, symbols: readonly string[]): void {
    const now = new Date().toISOString();
    this.#touch.run(job, dataset, interval, [...symbols].sort().join(','), now, now);
  }

  markDone(job: string, k: DoneKey): void {
    this.#mark.run(job, k.key, k.size, k.etag, k.lastModified ?? null, new Date().toISOString());
  }

  doneKeys(job: string): Map<string, DoneKey> {
    const rows = this.#db
      .prepare<[string], { key: string; size: number; etag: string; last_modified: string | null }>(
        'SELECT key, size, etag, last_modified FROM progress_keys WHERE job = ?',
      )
      .all(job);
    return new Map(rows.map((r) => [r.key, { key: r.key, size: r.size, etag: r.etag, lastModified: r.last_modified ?? undefined }]));
  }

  get(job: string): JobProgress | undefined {
    const row = this.#db.prepare<[string], JobRow>(`${JOB_SELECT} WHERE j.job = ? GROUP BY j.job`).get(job);
    return row && toProgress(row);
  }

  list(): JobProgress[] {
    return this.#db.prepare<[], JobRow>(`${JOB_SELECT} GROUP BY j.job ORDER BY j.updated_at DESC`).all().map(toProgress);
  }

  /** Forgets a job's completed keys. Returns how many were forgotten. */
  clear(job: string): number {
    const { changes } = this.#db.prepare('DELETE FROM progress_keys WHERE job = ?').run(job);
    this.#db.prepare('DELETE FROM progress_jobs WHERE job = ?').run(job);
    return changes;
  }
}

function toProgress(r: JobRow): JobProgress {
  return {
    job: r.job,
    dataset: r.dataset,
    interval: r.interval,
    symbols: r.symbols.split(','),
    doneKeys: r.done,
    bytes: r.bytes ?? 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
