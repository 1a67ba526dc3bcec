import type { Bar } from '../types.js';
import type { Db } from './database.js';

/** One bar as users read it. */
export interface BarRow extends Bar {
  symbol: string;
  /** The day file it came from. */
  day: string;
}

/** Bars, the days ingested per symbol, and the windows known complete. */
export class BarStore {
  readonly #db: Db;
  readonly #upsert;
  readonly #ingest;
  readonly #select;
  readonly #days;
  readonly #deleteDay;

  constructor(db: Db) {
    this.#db = db;
    this.#upsert = db.prepare(`
      INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
      VALUES (@symbol, @interval, @time, @day, @open, @high, @low, @close, @volume, @transactions)
      ON CONFLICT (symbol, interval, time) DO UPDATE SET
        day = excluded.day, open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
        volume = excluded.volume, transactions = excluded.transactions`);
    this.#ingest = db.prepare(`
      INSERT OR REPLACE INTO ingested_days (symbol, interval, day, dataset, key, etag, rows)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.#select = db.prepare<[string, string, string, string], Bar>(`
      SELECT time, open, high, low, close, volume, transactions FROM bars
      WHERE symbol = ? AND interval = ? AND day >= ? AND day <= ? ORDER BY time`);
    this.#days = db.prepare<[string, string, string, string], { day: string; etag: string }>(
      'SELECT day, etag FROM ingested_days WHERE symbol = ? AND interval = ? AND day >= ? AND day <= ?',
    );
    this.#deleteDay = db.prepare('DELETE FROM bars WHERE symbol = ? AND interval = ? AND day = ?');
  }

  /** Upserts bars: re-ingesting a day replaces its rows, never duplicates them. Call inside a transaction. */
  upsert(interval: string, rows: readonly BarRow[]): void {
    for (const r of rows) this.#upsert.run({ ...r, interval });
  }

  /**
   * Replaces a symbol's bars of one calendar day with `rows`: a republished file that dropped or
   * changed a row leaves exactly its own rows. Call inside a transaction.
   */
  replaceDay(symbol: string, interval: string, day: string, rows: readonly BarRow[]): void {
    this.#deleteDay.run(symbol, interval, day);
    this.upsert(interval, rows);
  }

  /** Records that `symbol`'s rows of a day file are in, including a day with no row (a halt). */
  markIngested(symbol: string, interval: string, f: { day: string; dataset: string; key: string; etag: string }, rows: number): void {
    this.#ingest.run(symbol, interval, f.day, f.dataset, f.key, f.etag, rows);
  }

  /** Days already ingested for a symbol within [start, end], with the ETag of the file they came from. */
  ingestedDays(symbol: string, interval: string, start: string, end: string): Map<string, string> {
    return new Map(this.#days.all(symbol, interval, start, end).map((r) => [r.day, r.etag]));
  }

  /** Bars of a symbol from the day files of [start, end], oldest first. */
  read(symbol: string, interval: string, start: string, end: string): Bar[] {
    return this.#select.all(symbol, interval, start, end);
  }

  /** First and last bar time of these symbols' bars from the day files of [start, end], from the index alone. */
  range(symbols: readonly string[], interval: string, start: string, end: string): { first: number; last: number } | undefined {
    let first: number | undefined;
    let last: number | undefined;
    const q = this.#db.prepare<[string, string, string, string], { first: number | null; last: number | null }>(
      'SELECT MIN(time) AS first, MAX(time) AS last FROM bars WHERE symbol = ? AND interval = ? AND day >= ? AND day <= ?',
    );
    for (const symbol of symbols) {
      const r = q.get(symbol, interval, start, end);
      if (r?.first != null && (first === undefined || r.first < first)) first = r.first;
      if (r?.last != null && (last === undefined || r.last > last)) last = r.last;
    }
    return first === undefined || last === undefined ? undefined : { first, last };
  }

  /**
   * Every ticker with bars of `interval`, sorted. A loose index scan (two seeks per ticker), not
   * `SELECT DISTINCT`, which reads every row of the whole market's bars.
   */
  symbols(interval: string): string[] {
    const next = this.#db.prepare<[string], { symbol: string }>('SELECT symbol FROM bars WHERE symbol > ? ORDER BY symbol LIMIT 1');
    const has = this.#db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM bars WHERE symbol = ? AND interval = ? LIMIT 1');
    const out: string[] = [];
    for (let r = next.get(''); r !== undefined; r = next.get(r.symbol)) if (has.get(r.symbol, interval)) out.push(r.symbol);
    return out;
  }

  /** Records that every listed day of [start, end] is ingested for `symbol`. */
  addCoverage(symbol: string, interval: string, start: string, end: string): void {
    this.#db.prepare('INSERT OR IGNORE INTO coverage (symbol, interval, start, end) VALUES (?, ?, ?, ?)').run(symbol, interval, start, end);
  }

  /** True when [start, end] lies within the union of recorded complete windows. */
  isCovered(symbol: string, interval: string, start: string, end: string): boolean {
    const ranges = this.#db
      .prepare<[string, string], { start: string; end: string }>('SELECT start, end FROM coverage WHERE symbol = ? AND interval = ? ORDER BY start')
      .all(symbol, interval);
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

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
