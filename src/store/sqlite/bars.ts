import type { Statement } from 'better-sqlite3';
import { nextDay } from '../../market-time.js';
import { shapeFields, shapeName, type ShapeField } from '../json-shape.js';
import type { ScanKey } from '../scan.js';
import type { EncodedBars, JsonShape, ScanRow } from '../types.js';
import type { Bar } from '../../types.js';
import type { Db } from './db.js';
import { SymbolList } from './symbols.js';
import { TICKER_INDEX, TICKER_INDEX_INTERVAL, tickerIndexProbe } from './ticker-index.js';

/** One bar as users read it. */
export interface BarRow extends Bar {
  symbol: string;
  /** The day file it came from. */
  day: string;
}

/**
 * A ticker's day bars along the index by ticker (ticker-index.ts): one seek, then its rows in
 * (time, day) order, neighbours on a few pages. The interval literal: the index is partial.
 * INDEXED BY: the day range must not tempt the planner into the primary key.
 */
const BY_TICKER = `SELECT time, open, high, low, close, volume, transactions FROM bars INDEXED BY ${TICKER_INDEX}
  WHERE interval = '${TICKER_INDEX_INTERVAL}' AND symbol = @symbol AND day >= @start AND day <= @end ORDER BY time`;

/** The statement of readJson for one shape: the JSON array, the count, the first time, the distinct times. */
function jsonSql(shape: JsonShape): string {
  const fields = shapeFields(shape);
  const object = (of: readonly ShapeField[]): string => `json_object(${of.map((f) => `'${f.key}', ${f.column}`).join(', ')})`;
  const nullable = fields.filter((f) => f.nullable);
  const each =
    nullable.length === 0
      ? object(fields)
      : `CASE WHEN ${nullable.map((f) => `${f.column} IS NULL`).join(' OR ')} THEN ${object(fields.filter((f) => !f.nullable))} ELSE ${object(fields)} END`;
  return `SELECT json_group_array(${each}), count(*), min(time), count(DISTINCT time) FROM (
    SELECT time, open, high, low, close, volume, transactions FROM bars INDEXED BY ${TICKER_INDEX}
    WHERE interval = '${TICKER_INDEX_INTERVAL}' AND symbol = @symbol AND day >= @start AND day <= @end
    ORDER BY time ${shape.desc ? 'DESC' : 'ASC'} LIMIT @limit)`;
}

/**
 * Minute bars, and day bars without that index (a cache migrated but not yet run, or a run killed
 * between dropping and building it): a ticker's bars, a seek per day: bars are keyed by day first (db.ts), and bar_days holds
 * the days that have bars of each interval, so a read from '0000-01-01' seeks only those (5 years
 * of daily bars: ~1,255 seeks, a few ms; bench/stores/sqlite-bulk.ts). CROSS JOIN keeps SQLite's order:
 * the days outside, ascending, a seek into bars for each.
 */
const OF_SYMBOL = `FROM bar_days d CROSS JOIN bars b ON b.interval = d.interval AND b.day = d.day AND b.symbol = @symbol
  WHERE d.interval = @interval AND d.day >= @start AND d.day <= @end`;
const EVER = { start: '0000-01-01', end: '9999-12-31' };

/** A row of BY_TICKER as an array, in its columns' order. */
type RawBar = [time: number, open: number, high: number, low: number, close: number, volume: number, transactions: number | null];

interface Window {
  symbol: string;
  interval: string;
  start: string;
  end: string;
}

/** The statements of reads, prepared together on the first read. */
function readStatements(db: Db) {
  return {
    // No ORDER BY: rows come day after day, each day's by time (the key's order), and a sort of a
    // month of minute bars cost a third more than the whole read (bench/stores/sqlite-bulk.ts, minute).
    select: db.prepare<Window, Bar>(`SELECT b.time, b.open, b.high, b.low, b.close, b.volume, b.transactions ${OF_SYMBOL}`),
    hasIndex: tickerIndexProbe(db),
    range: db.prepare<Window, { first: number | null; last: number | null }>(`SELECT MIN(b.time) AS first, MAX(b.time) AS last ${OF_SYMBOL}`),
    any: db.prepare<Window, { n: number }>(`SELECT 1 AS n ${OF_SYMBOL} LIMIT 1`),
    days: db.prepare<[string, string, string, string], { day: string; etag: string }>(
      'SELECT day, etag FROM ingested_days WHERE symbol = ? AND interval = ? AND day >= ? AND day <= ?',
    ),
    // One day along the primary key, from just after a key: one seek, then rows in key order.
    page: db
      .prepare<ScanKey & { interval: string; day: string; limit: number; to: string }, ScanRow>(
        `SELECT symbol, time, open, high, low, close, volume, transactions FROM bars
         WHERE interval = @interval AND day = @day AND (symbol, time) > (@symbol, @time) AND symbol < @to
         ORDER BY symbol, time LIMIT @limit`,
      )
      .raw(true),
    storedDays: db.prepare<[string, string, string], string>('SELECT day FROM bar_days WHERE interval = ? AND day >= ? AND day <= ? ORDER BY day').pluck(),
  };
}

/** The statements of writes, prepared together on the first write. */
function writeStatements(db: Db) {
  return {
    upsert: db.prepare(`
      INSERT OR REPLACE INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    ingest: db.prepare(`
      INSERT OR REPLACE INTO ingested_days (symbol, interval, day, dataset, key, etag, rows)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    day: db.prepare('INSERT OR IGNORE INTO bar_days (interval, day) VALUES (?, ?)'),
    deleteDay: db.prepare('DELETE FROM bars WHERE interval = ? AND day = ? AND symbol = ?'),
  };
}

/**
 * Bars, the days ingested per symbol, and the windows known complete. Statements are prepared on
 * first use, reads apart from writes: a store opened for one read prepares only what reads need.
 */
export class BarStore {
  readonly #db: Db;
  #reads: ReturnType<typeof readStatements> | undefined;
  #byTicker: Statement<Omit<Window, 'interval'>, RawBar> | undefined;
  #coverage: Statement<[string, string], { start: string; end: string }> | undefined;
  readonly #json = new Map<string, Statement<Omit<Window, 'interval'> & { limit: number }, [string, number, number | null, number]>>();
  #writes: ReturnType<typeof writeStatements> | undefined;
  #listed: SymbolList | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The tickers with bars of each interval, kept with the bars. */
  get listed(): SymbolList {
    return (this.#listed ??= new SymbolList(this.#db));
  }

  get #r(): ReturnType<typeof readStatements> {
    return (this.#reads ??= readStatements(this.#db));
  }

  get #w(): ReturnType<typeof writeStatements> {
    return (this.#writes ??= writeStatements(this.#db));
  }

  /**
   * Upserts bars by (interval, day, symbol, time): re-ingesting a day replaces its rows, never
   * duplicates them. Call inside a transaction.
   */
  upsert(interval: string, rows: readonly BarRow[]): void {
    for (const r of rows) this.#w.upsert.run(r.symbol, interval, r.time, r.day, r.open, r.high, r.low, r.close, r.volume, r.transactions);
    this.listed.add(interval, [...new Set(rows.map((r) => r.symbol))]);
    for (const day of new Set(rows.map((r) => r.day))) this.markDay(interval, day);
  }

  /** Records that (interval, day) has bars (a day whose bars all go later stays: a seek that finds none). */
  markDay(interval: string, day: string): void {
    this.#w.day.run(interval, day);
  }

  /**
   * Replaces a symbol's bars of one calendar day with `rows`: a republished file that dropped or
   * changed a row leaves exactly its own rows. Call inside a transaction.
   */
  replaceDay(symbol: string, interval: string, day: string, rows: readonly BarRow[]): void {
    const { changes } = this.#w.deleteDay.run(interval, day, symbol);
    this.upsert(interval, rows);
    if (changes > 0 && rows.length === 0) this.unlistIfGone(symbol, interval);
  }

  /** Takes `symbol` off the list of tickers with bars of `interval` once it has none. */
  unlistIfGone(symbol: string, interval: string): void {
    if (this.#r.any.get({ symbol, interval, ...EVER }) === undefined) this.listed.remove(interval, symbol);
  }

  /** Records that `symbol`'s rows of a day file are in, including a day with no row (a halt). */
  markIngested(symbol: string, interval: string, f: { day: string; dataset: string; key: string; etag: string }, rows: number): void {
    this.#w.ingest.run(symbol, interval, f.day, f.dataset, f.key, f.etag, rows);
  }

  /** Days already ingested for a symbol within [start, end], with the ETag of the file they came from. */
  ingestedDays(symbol: string, interval: string, start: string, end: string): Map<string, string> {
    return new Map(this.#r.days.all(symbol, interval, start, end).map((r) => [r.day, r.etag]));
  }

  /** Bars of a symbol from the day files of [start, end], oldest first. */
  read(symbol: string, interval: string, start: string, end: string): Bar[] {
    const window = { symbol, interval, start, end };
    const bars = this.#readByTicker(window) ?? this.#r.select.all(window);
    // Times rise from day to day unless two day files overlap; then sort (stable: the later file
    // last; the index gives equal times by day too) and keep one bar per time, the later file's,
    // as the upsert by time of schema 3 did.
    let sorted = true;
    for (let i = 1; i < bars.length && sorted; i++) sorted = (bars[i] as Bar).time > (bars[i - 1] as Bar).time;
    if (sorted) return bars;
    bars.sort((a, b) => a.time - b.time);
    let n = 0;
    for (const bar of bars) {
      if (n > 0 && bars[n - 1]?.time === bar.time) bars[n - 1] = bar;
      else bars[n++] = bar;
    }
    bars.length = n;
    return bars;
  }

  /**
   * The day bars along the index by ticker, or undefined for minute bars or without it. Another process may drop it
   * between the look and the read (a large `--all` starting): SQLite then refuses the statement
   * for its INDEXED BY, and the read seeks day by day instead.
   */
  #readByTicker({ interval, ...window }: Window): Bar[] | undefined {
    if (interval !== TICKER_INDEX_INTERVAL || !this.#r.hasIndex()) {
      this.#byTicker = undefined;
      return undefined;
    }
    try {
      // Rows as arrays, made into bars here: better-sqlite3 builds a row object property by
      // property in C++, and a 5-year read (1,255 rows) took ~2.9 ms so against ~1.5 ms this way
      // (measured side by side on the serve bench's whole-market store).
      this.#byTicker ??= this.#db.prepare<Omit<Window, 'interval'>, RawBar>(BY_TICKER).raw(true);
      return this.#byTicker.all(window).map(([time, open, high, low, close, volume, transactions]) => ({ time, open, high, low, close, volume, transactions }));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('no such index')) throw error;
      this.#byTicker = undefined;
      return undefined;
    }
  }

  /**
   * Day bars along the index by ticker, encoded as JSON by SQLite (Store.readBarsJson): measured on
   * the serve bench's whole-market store, a random ticker's 5 years (1,255 bars) as the provider's
   * objects took ~1.2 ms so against ~1.9 ms read as arrays, made into objects and JSON.stringify'd,
   * one after the other in one process, and a server's garbage shrinks with it. The aggregate reads
   * the subquery's rows in its ORDER BY (an aggregate's subquery with ORDER BY is not flattened);
   * `LIMIT + 1` bounds the work past `limit`, and count(DISTINCT time) finds two day files holding
   * one time (readBars keeps the later file's bar there: left to it).
   */
  readJson(window: Window, shape: JsonShape): EncodedBars | undefined {
    const { interval, ...rest } = window;
    if (interval !== TICKER_INDEX_INTERVAL || !this.#r.hasIndex()) return undefined;
    const key = shapeName(shape);
    try {
      let statement = this.#json.get(key);
      if (statement === undefined) {
        statement = this.#db.prepare<Omit<Window, 'interval'> & { limit: number }, [string, number, number | null, number]>(jsonSql(shape)).raw(true);
        this.#json.set(key, statement);
      }
      const row = statement.get({ ...rest, limit: shape.limit + 1 });
      if (row === undefined) return undefined;
      const [json, count, first, distinct] = row;
      if (count > shape.limit || distinct !== count) return undefined;
      return { json, count, first: first ?? undefined };
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('no such index')) throw error;
      this.#json.clear();
      return undefined;
    }
  }

  /** The days of [start, end] that have bars of `interval`, ascending. */
  days(interval: string, start: string, end: string): string[] {
    return this.#r.storedDays.all(interval, start, end);
  }

  /** Up to `limit` bars of `interval` from day file `day` after `after`, of tickers before `to`, in key order (store/scan.ts). */
  page(interval: string, day: string, after: ScanKey, limit: number, to: string): ScanRow[] {
    return this.#r.page.all({ interval, day, limit, to, ...after });
  }

  /** First and last bar time of these symbols' bars from the day files of [start, end]. */
  range(symbols: readonly string[], interval: string, start: string, end: string): { first: number; last: number } | undefined {
    let first: number | undefined;
    let last: number | undefined;
    for (const symbol of symbols) {
      const r = this.#r.range.get({ symbol, interval, start, end });
      if (r?.first != null && (first === undefined || r.first < first)) first = r.first;
      if (r?.last != null && (last === undefined || r.last > last)) last = r.last;
    }
    return first === undefined || last === undefined ? undefined : { first, last };
  }

  /** Every ticker with bars of `interval`, sorted. */
  symbols(interval: string): string[] {
    return this.listed.all(interval);
  }

  /** Records that every listed day of [start, end] is ingested for `symbol`. */
  addCoverage(symbol: string, interval: string, start: string, end: string): void {
    this.#db.prepare('INSERT OR IGNORE INTO coverage (symbol, interval, start, end) VALUES (?, ?, ?, ?)').run(symbol, interval, start, end);
  }

  /** True when [start, end] lies within the union of recorded complete windows. */
  isCovered(symbol: string, interval: string, start: string, end: string): boolean {
    // Prepared once: a server asks this twice an answer (the ticker's, then --all's coverage).
    this.#coverage ??= this.#db.prepare<[string, string], { start: string; end: string }>('SELECT start, end FROM coverage WHERE symbol = ? AND interval = ? ORDER BY start');
    const ranges = this.#coverage.all(symbol, interval);
    let reach = start; // first day not yet known to be covered
    for (const r of ranges) {
      if (r.start > reach) break;
      if (r.end >= reach) reach = nextDay(r.end);
      if (reach > end) return true;
    }
    return reach > end;
  }

  clearSymbol(symbol: string, interval: string): void {
    this.#db.prepare('DELETE FROM ingested_days WHERE symbol = ? AND interval = ?').run(symbol, interval);
    this.#db.prepare('DELETE FROM coverage WHERE symbol = ? AND interval = ?').run(symbol, interval);
  }
}
