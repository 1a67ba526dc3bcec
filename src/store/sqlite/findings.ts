// What runs saw in files (a misdated day file, minute rows outside their day): written in the
// transaction that merges the file's bars, read by `check`.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { DayFile } from '../../types.js';
import type { FileFinding, FileNote, JobSpec } from '../types.js';

type FindingRow = Omit<FileFinding, 'detail' | 'seenAt'> & { detail: string; seen_at: string };

export class FindingStore {
  readonly #forget: Statement<[string, string]>;
  readonly #insert: Statement<[string, string, string, string, string, string, string]>;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#forget = db.prepare('DELETE FROM file_findings WHERE job = ? AND key = ?');
    this.#insert = db.prepare('INSERT INTO file_findings (job, dataset, key, day, kind, detail, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  /** Replaces what the job recorded of the file (a file read again says again what it holds). Call inside the file's transaction. */
  record(job: JobSpec, file: DayFile, notes: readonly FileNote[] | undefined, seenAt: string): void {
    this.#forget.run(job.job, file.key);
    for (const n of notes ?? []) this.#insert.run(job.job, job.dataset, file.key, file.day, n.kind, JSON.stringify(n.detail), seenAt);
  }

  list(dataset: string | undefined): FileFinding[] {
    const where = dataset === undefined ? '' : 'WHERE dataset = ?';
    const rows = this.#db
      .prepare(`SELECT job, dataset, key, day, kind, detail, seen_at FROM file_findings ${where} ORDER BY day, key, job, kind, detail`)
      .all(...(dataset === undefined ? [] : [dataset])) as FindingRow[];
    return rows.map((r) => ({
      job: r.job,
      dataset: r.dataset,
      key: r.key,
      day: r.day,
      kind: r.kind,
      detail: JSON.parse(r.detail) as FileNote['detail'],
      seenAt: r.seen_at,
    }));
  }
}
