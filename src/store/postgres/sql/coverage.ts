// What a ticker's windows hold: the day files ingested for it, and the windows known complete.
import { execute, type Queryable } from '../db.js';

/** The days of [start, end] ingested for the ticker, with the ETag of the file each came from. */
export async function ingestedDays(db: Queryable, symbol: string, interval: string, start: string, end: string): Promise<{ day: string; etag: string }[]> {
  return execute(db, {
    name: 'pmd_ingested_days',
    text: 'SELECT day, etag FROM ingested_days WHERE symbol = $1 AND interval = $2 AND day >= $3 AND day <= $4',
    values: [symbol, interval, start, end],
  });
}

export async function addCoverage(db: Queryable, symbol: string, interval: string, start: string, end: string): Promise<void> {
  await execute(db, {
    name: 'pmd_add_coverage',
    text: 'INSERT INTO coverage (symbol, interval, start, "end") VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    values: [symbol, interval, start, end],
  });
}

/** Whether the ticker's covered windows together hold [start, end]. */
export async function isCovered(db: Queryable, symbol: string, interval: string, start: string, end: string): Promise<boolean> {
  // daterange is discrete: [01-01, 01-10] and [01-11, 01-20] are adjacent, and range_agg joins them.
  const [row] = await execute<{ covered: boolean | null }>(db, {
    name: 'pmd_is_covered',
    text: `SELECT range_agg(daterange(start::date, "end"::date, '[]')) @> daterange($3::date, $4::date, '[]') AS covered
       FROM coverage WHERE symbol = $1 AND interval = $2`,
    values: [symbol, interval, start, end],
  });
  return row?.covered === true;
}
