// Reads of bars and of the tickers that have them. bars is keyed (interval, day, symbol, time): a
// ticker's read goes along the index by ticker where it is (a day range), or probes the key once
// per calendar day of its window (ticker-index.ts, store.ts).
import type { Bar } from '../../../types.js';
import { AFTER_TICKERS } from '../../scan.js';
import { shapeFields, shapeName } from '../../json-shape.js';
import type { EncodedBars, JsonShape, ScanRow } from '../../types.js';
import { execute, type Db, type Queryable } from '../db.js';
import { INDEX_VALID_SQL, TICKER_INDEX_INTERVAL } from './ticker-index.js';

/**
 * The days a ticker's read covers: a range along the index by ticker (day bars, the index valid),
 * or every calendar day of it, each a probe of the primary key.
 */
export type DayWindow = { kind: 'range'; from: string; to: string } | { kind: 'days'; days: readonly string[] };

/**
 * The WHERE clause of a ticker's read of `window`, its values from $1, and the statement's name
 * (prepared) or none. A range is planned for its values each time (unnamed): a prepared one's
 * generic plan, blind to how many days the range spans, seeks the day-major key day by day
 * (measured on 300 whole-market days: 3.6 ms against 1.1 ms a read, planning included). It is
 * gated on the index being valid, a one-time filter of the same statement: without the index the
 * range would scan every row of its days (before PostgreSQL 18's skip scan), so it reads nothing,
 * and the caller reads day by day instead. One statement, not a question of the catalog first:
 * that round trip was ~0.3 ms of a ~1.7 ms answer.
 */
function tickerWhere(interval: string, window: DayWindow, symbol: string, name: string): { where: string; values: unknown[]; name: string | undefined } {
  if (window.kind === 'range') {
    // The interval literal: the partial index's predicate must be provable at planning.
    return { where: `interval = '${TICKER_INDEX_INTERVAL}' AND symbol = $1 AND day >= $2 AND day <= $3 AND ${INDEX_VALID_SQL}`, values: [symbol, window.from, window.to], name: undefined };
  }
  return { where: 'interval = $1 AND day = ANY($2::text[]) AND symbol = $3', values: [interval, [...window.days], symbol], name };
}

/**
 * A ticker's bars of `window`. Two day files holding one time (overlapping files) both keep it: the
 * later file's is read, as the SQLite cache does. A range read while the index is not valid reads
 * nothing (tickerWhere).
 */
export async function readBars(db: Queryable, interval: string, window: DayWindow, symbol: string): Promise<Bar[]> {
  const { where, values, name } = tickerWhere(interval, window, symbol, 'pmd_read_bars');
  return execute<Bar>(db, {
    name,
    text: `SELECT DISTINCT ON (time) time, open, high, low, close, volume, transactions FROM bars
       WHERE ${where} ORDER BY time, day DESC`,
    values,
  });
}

/**
 * readBars' bars of `window` encoded as a JSON array by PostgreSQL (Store.readBarsJson): the same
 * DISTINCT ON, one text value instead of a row object per bar. Each object is concatenated text
 * (a null field's piece is null, so COALESCE leaves it out): measured on 600 whole-market days,
 * a random ticker's answer took a median 1.49 ms so, against 2.11 ms for readBars, objects and
 * JSON.stringify in node, and 2.84 ms with json_build_object. Numbers are PostgreSQL's float8 and
 * bigint text, as readBars parses them. `limit + 1` rows at most: more is undefined. `indexed`: whether a range read ran.
 */
export async function readBarsJson(db: Queryable, interval: string, window: DayWindow, symbol: string, shape: JsonShape): Promise<{ indexed: boolean; bars: EncodedBars | undefined }> {
  const fields = shapeFields(shape);
  // Keys are plain names (shapeFields); a piece leads with its comma but the first, unless the
  // first may be left out, when every piece leads with one and the first comma is cut.
  const lead = fields[0]?.nullable === true;
  const pieces = fields.map((f, i) => {
    const piece = `'${i > 0 || lead ? ',' : ''}"${f.key}":' || b.${f.column}`;
    return f.nullable ? `COALESCE(${piece}, '')` : piece;
  });
  const object = lead ? `'{' || substr(${pieces.join(' || ')}, 2) || '}'` : `'{' || ${pieces.join(' || ')} || '}'`;
  const { where, values, name } = tickerWhere(interval, window, symbol, `pmd_read_json_${shapeName(shape)}`);
  const [row] = await execute<{ indexed: boolean; json: string | null; count: number; first: number | null }>(db, {
    name,
    text: `SELECT ${window.kind === 'range' ? INDEX_VALID_SQL : 'true'} AS indexed,
         string_agg(${object}, ',' ORDER BY b.time ${shape.desc ? 'DESC' : 'ASC'}) AS json, count(*)::int AS count, min(b.time) AS first
       FROM (SELECT DISTINCT ON (time) time, open, high, low, close, volume, transactions FROM bars
         WHERE ${where} ORDER BY time, day DESC LIMIT $${values.length + 1}) b`,
    values: [...values, shape.limit + 1],
  });
  // `indexed` false: a range read that did not run (tickerWhere).
  if (row === undefined || !row.indexed) return { indexed: false, bars: undefined };
  if (row.count > shape.limit) return { indexed: true, bars: undefined };
  return { indexed: true, bars: { json: `[${row.json ?? ''}]`, count: row.count, first: row.first ?? undefined } };
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
