// A republished file's day, old bars against new (a `revised` note): the day's stored bars of the
// file's scope are copied into a temporary table (dropped at commit) before the merge replaces
// them, and compared with the day's bars after it, in the merge's transaction. Only files that
// replace an earlier version run these. Not prepared: the table is created afresh in each
// transaction that needs it.
import { MAX_EXAMPLES } from '../../../parse/duplicates.js';
import { BAR_VALUES, BOTH_SIDES, toConflict, type ConflictRow } from '../../conflicts.js';
import type { BarConflict } from '../../../types.js';
import { execute, type Queryable } from '../db.js';

/** A file's scope: its job's tickers, or (an --all job, `tickers` null) its dataset's (`prefix` null: stocks, tickers without ':'). */
export interface RevisionScope {
  /** Which file of the transaction (several republished files may share it). */
  file: number;
  interval: string;
  day: string;
  tickers: readonly string[] | null;
  prefix: string | null;
}

const SCOPE = `(CASE WHEN $4::text[] IS NOT NULL THEN symbol = ANY($4::text[]) WHEN $5::text IS NULL THEN strpos(symbol, ':') = 0 ELSE starts_with(symbol, $5::text) END)`;
const DIFFERS = BAR_VALUES.map((v) => `p.${v} IS DISTINCT FROM b.${v}`).join(' OR ');
const MATCH = `FROM pmd_previous p JOIN bars b ON b.interval = $2 AND b.day = $3 AND b.symbol = p.symbol AND b.time = p.time WHERE p.file = $1`;

function values(s: RevisionScope): unknown[] {
  return [s.file, s.interval, s.day, s.tickers === null ? null : [...s.tickers], s.prefix];
}

/** Keeps the day's stored bars of the scope. Call before the merge deletes them. */
export async function snapshotDay(c: Queryable, s: RevisionScope): Promise<void> {
  await execute(c, {
    text: `CREATE TEMP TABLE IF NOT EXISTS pmd_previous (
      file int, symbol text, time bigint, open float8, high float8, low float8, close float8, volume float8, transactions bigint) ON COMMIT DROP`,
  });
  await execute(c, {
    text: `INSERT INTO pmd_previous SELECT $1::int, symbol, time, ${BAR_VALUES.join(', ')} FROM bars WHERE interval = $2 AND day = $3 AND ${SCOPE}`,
    values: values(s),
  });
}

/** The day's bars now against those kept by {@link snapshotDay}. */
export async function compareDay(c: Queryable, s: RevisionScope): Promise<{ changed: number; added: number; removed: number; examples: BarConflict[] }> {
  const [n] = await execute<{ before: number; now: number; matched: number; changed: number }>(c, {
    text: `SELECT (SELECT COUNT(*) FROM pmd_previous WHERE file = $1)::int AS before,
        (SELECT COUNT(*) FROM bars WHERE interval = $2 AND day = $3 AND ${SCOPE})::int AS now,
        COUNT(*)::int AS matched, (COUNT(*) FILTER (WHERE ${DIFFERS}))::int AS changed
      ${MATCH}`,
    values: values(s),
  });
  const counts = n ?? { before: 0, now: 0, matched: 0, changed: 0 };
  const examples =
    counts.changed === 0
      ? []
      : await execute<ConflictRow>(c, {
          text: `SELECT p.symbol, p.time, ${BOTH_SIDES}
            ${MATCH} AND (${DIFFERS}) ORDER BY p.symbol, p.time LIMIT ${MAX_EXAMPLES}`,
          values: values(s).slice(0, 3),
        });
  return { changed: counts.changed, added: counts.now - counts.matched, removed: counts.before - counts.matched, examples: examples.map(toConflict) };
}
