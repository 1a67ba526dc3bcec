import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { TickerSet } from '../../symbols.js';

/**
 * bar_symbols: the tickers that have bars of each interval (no index of bars leads with the
 * symbol, db.ts). Written in the transactions that write the bars. The tickers already
 * listed are remembered here, so a whole-market day checks its 11,000 tickers in a JS Set (walked
 * along the day before's first: TickerSet) instead of 11,000 lookups in SQLite (~1/6 of the
 * store's time per file, bench/stores/sqlite-bulk.ts); the memory is dropped whenever another connection
 * has committed since (`PRAGMA data_version`), or a transaction of ours rolled back (`forget`).
 */
export class SymbolList {
  readonly #db: Db;
  readonly #version: Statement<[], number>;
  readonly #insert;
  readonly #delete;
  /** The listed tickers, by interval, as far as they are known. */
  readonly #known = new Map<string, TickerSet>();
  #seen: number | undefined;

  constructor(db: Db) {
    this.#db = db;
    this.#version = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#insert = db.prepare('INSERT OR IGNORE INTO bar_symbols (interval, symbol) VALUES (?, ?)');
    this.#delete = db.prepare('DELETE FROM bar_symbols WHERE interval = ? AND symbol = ?');
  }

  /** Lists `tickers` under `interval`. Call inside a write transaction. */
  add(interval: string, tickers: readonly string[]): void {
    // A failed insert rolls the transaction back, and the store then forgets what is remembered here.
    for (const t of this.#listed(interval).addList(tickers)) this.#insert.run(interval, t);
  }

  /** Lists every ticker with a bar of (interval, day). Call inside a write transaction. */
  addDay(interval: string, day: string): void {
    this.#db
      .prepare('INSERT OR IGNORE INTO bar_symbols (interval, symbol) SELECT DISTINCT interval, symbol FROM bars WHERE interval = ? AND day = ?')
      .run(interval, day);
    this.#known.delete(interval);
  }

  /** Takes `symbol` off the list of `interval`. Call inside a write transaction. */
  remove(interval: string, symbol: string): void {
    this.#delete.run(interval, symbol);
    this.#known.get(interval)?.delete(symbol);
  }

  /** The listed tickers of `interval`, sorted. */
  all(interval: string): string[] {
    return this.#db
      .prepare<[string], { symbol: string }>('SELECT symbol FROM bar_symbols WHERE interval = ? ORDER BY symbol')
      .all(interval)
      .map((r) => r.symbol);
  }

  /** A transaction that wrote here rolled back: what was remembered may not be in the table. */
  forget(): void {
    this.#known.clear();
  }

  #listed(interval: string): TickerSet {
    const version = this.#version.get();
    if (version !== this.#seen) {
      this.#known.clear();
      this.#seen = version;
    }
    let known = this.#known.get(interval);
    if (!known) this.#known.set(interval, (known = new TickerSet(this.all(interval))));
    return known;
  }
}
