// What runs saw in files (a misdated day file, minute rows outside their day): written in the
// transaction that merges a file's bars, read by `check`.
import type { FileFinding, FileNote } from '../../types.js';
import { execute, type Queryable } from '../db.js';
import type { MarketFile } from '../rows.js';

/**
 * Not a migration: created where missing on every open (schema.ts, under the schema lock), so a
 * store made by an earlier release gains it without a change of version and both releases keep
 * opening it.
 */
export const FINDINGS_TABLE = {
  name: 'file_findings',
  ddl: `
CREATE TABLE IF NOT EXISTS file_findings (
  job text NOT NULL,
  dataset text NOT NULL,
  key text NOT NULL,
  day text NOT NULL,
  kind text NOT NULL,
  detail jsonb NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS file_findings_by_file ON file_findings (job, key);
CREATE INDEX IF NOT EXISTS file_findings_by_day ON file_findings (dataset, day);
`,
};

/** Whether a table of that name exists on the search path. */
export async function tableExists(c: Queryable, name: string): Promise<boolean> {
  const [row] = await execute<{ found: boolean }>(c, { name: 'pmd_table_exists', text: 'SELECT to_regclass($1) IS NOT NULL AS found', values: [name] });
  return row?.found === true;
}

/** Replaces what each file's job recorded of it (a file read again says again what it holds). Last in a merge's lock order. */
export async function recordFindings(c: Queryable, files: readonly (MarketFile & { notes?: readonly FileNote[] | undefined })[]): Promise<void> {
  if (files.length === 0) return;
  await execute(c, {
    name: 'pmd_forget_findings',
    text: 'DELETE FROM file_findings f USING unnest($1::text[], $2::text[]) AS u(job, key) WHERE f.job = u.job AND f.key = u.key',
    values: [files.map((f) => f.job.job), files.map((f) => f.file.key)],
  });
  const rows = files.flatMap((f) => (f.notes ?? []).map((n) => ({ f, n })));
  if (rows.length === 0) return;
  await execute(c, {
    name: 'pmd_insert_findings',
    text: `INSERT INTO file_findings (job, dataset, key, day, kind, detail)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
    values: [
      rows.map((r) => r.f.job.job),
      rows.map((r) => r.f.job.dataset),
      rows.map((r) => r.f.file.key),
      rows.map((r) => r.f.file.day),
      rows.map((r) => r.n.kind),
      rows.map((r) => JSON.stringify(r.n.detail)),
    ],
  });
}

type FindingRow = Omit<FileFinding, 'seenAt'> & { seen_at: Date };

/** What runs recorded in files of `dataset` (every dataset when undefined), by day then key. */
export async function selectFindings(c: Queryable, dataset: string | undefined): Promise<FileFinding[]> {
  const rows = await execute<FindingRow>(c, {
    name: 'pmd_select_findings',
    text: `SELECT job, dataset, key, day, kind, detail, seen_at FROM file_findings WHERE $1::text IS NULL OR dataset = $1
       ORDER BY day, key, job, kind, detail::text`,
    values: [dataset ?? null],
  });
  return rows.map((r) => ({ job: r.job, dataset: r.dataset, key: r.key, day: r.day, kind: r.kind, detail: r.detail, seenAt: r.seen_at.toISOString() }));
}
