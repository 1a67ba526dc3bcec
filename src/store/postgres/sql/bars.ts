// Reads of bars and of the tickers that have them. bars is keyed (interval, day, symbol, time):
// a ticker's read probes the key once per calendar day of its window (store.ts).
import type { Bar } from '../../../types.js';
import { AFTER_TICKERS } from '../../scan.js';
import { shapeFields, shapeName } from '../../json-shape.js';
import type { EncodedBars, JsonShape, ScanRow } from '../../types.js';
import { execute, type Db, type Queryable } from '../db.js';

/**
 * A ticker's bars of `days`. Two day files holding one time (overlapping files) both keep it: the
 * later file's is read, as the SQLite cache does.
 */
export async function readBars(db: Queryable, interval: string, days: readonly string[], symbol: string): Promise<Bar[]> {
  return execute<Bar>(db, {
    name: 'pmd_read_bars',
    text: `SELECT DISTINCT ON (time) time, open, high, low, close, volume, transactions FROM bars
       WHERE interval = $1 AND day = ANY($2::text[]) AND symbol = $3 ORDER BY time, day DESC`,
    values: [interval, [...days], symbol],
  });
}

/**
 * readBars' bars of `days` encoded as a JSON array by PostgreSQL (Store.readBarsJson): the same
 * DISTINCT ON, one text value instead of a row object per bar; json_strip_nulls leaves out a null
 * `transactions` and writes the objects compact. `limit + 1` rows at most: more is undefined.
 */
export async function readBarsJson(db: Queryable, interval: string, days: readonly string[], symbol: string, shape: JsonShape): Promise<EncodedBars | undefined> {
  const fields = shapeFields(shape);
  const object = `json_strip_nulls(json_build_object(${fields.map((f) => `'${f.key}', b.${f.column}`).join(', ')}))`;
  const [row] = await execute<{ json: string | null; count: number; first: number | null }>(db, {
    name: `pmd_read_json_${shapeName(shape)}`,
    text: `SELECT string_agg(${object}::text, ',' ORDER BY b.time ${shape.desc ? 'DESC' : 'ASC'}) AS json, count(*)::int AS count, min(b.time) AS first
       FROM (SELECT DISTINCT ON (time) time, open, high, low, close, volume, transactions FROM bars
         WHERE interval = $1 AND day = ANY($2::text[]) AND symbol = $3 ORDER BY time, day DESC LIMIT $4) b`,
    values: [interval, [...days], symbol, shape.limit + 1],
  });
  if (row === undefined || row.count > shape.limit) return undefined;
  return { json: `[${row.json ?? ''}]`, count: row.count, first: row.first ?? undefined };
}

/** The first and last time of the tickers' bars of `days` (nulls: none). */
export async function barRange(
  db: Queryable,
  interval: string,
  days: readonly string[],
  symbols: readonly string[],
): Promise<{ first: number | null; last: number | null } | undefined> {
  const [row] = await execute<{ first: number | null; last: number | null }>(db, {
    name: 'pmd_bar_range',
    text: `SELECT MIN(time) AS first, MAX(time) AS last FROM bars
       WHERE interval = $1 AND day = ANY($2::text[]) AND symbol = ANY($3::text[])`,
    values: [interval, [...days], [...symbols]],
  });
  return row;
}

/** The first and last day with bars of `interval` (nulls: none). */
export async function storedSpan(db: Queryable, interval: string): Promise<{ lo: string | null; hi: string | null } | undefined> {
  const [span] = await execute<{ lo: string | null; hi: string | null }>(db, {
    name: 'pmd_stored_days',
    text: 'SELECT min(day) AS lo, max(day) AS hi FROM bars WHERE interval = $1',
    values: [interval],
  });
  return span;
}

/** The tickers with bars of `interval`, in no particular order. */
export async function listSymbols(db: Queryable, interval: string): Promise<string[]> {
  const rows = await execute<{ symbol: string }>(db, { name: 'pmd_list_symbols', text: 'SELECT symbol FROM bar_symbols WHERE interval = $1', values: [interval] });
  return rows.map((r) => r.symbol);
}

/** Up to `limit` bars of a day after (symbol, time) `after`, along the primary key; each row an array, as SQLite pages them. */
export async function scanDayPage(db: Db, interval: string, day: string, after: { symbol: string; time: number }, limit: number, to: string): Promise<ScanRow[]> {
  // The whole day unless a range ends it (the database's collation orders text: no sentinel above every ticker).
  if (to === AFTER_TICKERS) {
    return db.queryArrays<ScanRow>(
      `SELECT symbol, time, open, high, low, close, volume, transactions FROM bars
         WHERE interval = $1 AND day = $2 AND (symbol, time) > ($3, $4) ORDER BY symbol, time LIMIT $5`,
      [interval, day, after.symbol, after.time, limit],
      'pmd_scan_day',
    );
  }
  return db.queryArrays<ScanRow>(
    `SELECT symbol, time, open, high, low, close, volume, transactions FROM bars
         WHERE interval = $1 AND day = $2 AND (symbol, time) > ($3, $4) AND symbol < $6 ORDER BY symbol, time LIMIT $5`,
    [interval, day, after.symbol, after.time, limit, to],
    'pmd_scan_day_to',
  );
}
