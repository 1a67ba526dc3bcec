import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { notIn } from '../../symbols.js';

/**
 * bar_symbols: the tickers that have bars of each interval (no index of bars leads with the
 * symbol, db.ts). Written in the transactions that write the bars. The tickers already
 * listed are remembered here, so a whole-market day checks its 11,000 tickers in a JS Set instead
 * of 11,000 lookups in SQLite (~1/6 of the store's time per file, bench/sqlite-bulk.ts); the
 * memory is dropped whenever another connection has committed since (`PRAGMA data_version`), or a
 * transaction of ours rolled back (`forget`).
 */
export class SymbolList {
  readonly #db: Db;
  readonly #version: Statement<[], number>;
  readonly #insert;
  readonly #delete;
  readonly #known = new Map<string, Set<string>>();
  /** The last tickers `add` listed, by interval: all in #known (dropped whenever #known changes but by `add`). */
  readonly #previous = new Map<string, readonly string[]>();
  #seen: number | undefined;

  constructor(db: Db) {
    this.#db = db;
    this.#version = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#insert = db.prepare('INSERT OR IGNORE INTO bar_symbols (interval, symbol) VALUES (?, ?)');
    this.#delete = db.prepare('DELETE FROM bar_symbols WHERE interval = ? AND symbol = ?');
  }

  /** Lists `tickers` under `interval`. Call inside a write transaction. */
  add(interval: string, tickers: readonly string[]): void {
    const known = this.#listed(interval);
    for (const t of notIn(this.#previous.get(interval) ?? [], tickers)) {
      if (known.has(t)) continue;
      this.#insert.run(interval, t);
      known.add(t);
    }
    this.#previous.set(interval, tickers);
  }

  /** Lists every ticker with a bar of (interval, day). Call inside a write transaction. */
  addDay(interval: string, day: string): void {
    this.#db
      .prepare('INSERT OR IGNORE INTO bar_symbols (interval, symbol) SELECT DISTINCT interval, symbol FROM bars WHERE interval = ? AND day = ?')
      .run(interval, day);
    this.#known.delete(interval);
    this.#previous.delete(interval);
  }

  /** Takes `symbol` off the list of `interval`. Call inside a write transaction. */
  remove(interval: string, symbol: string): void {
    this.#delete.run(interval, symbol);
    this.#known.get(interval)?.delete(symbol);
    this.#previous.delete(interval);
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
    this.#previous.clear();
  }

  #listed(interval: string): Set<string> {
    const version = this.#version.get();
    if (version !== this.#seen) {
      this.#known.clear();
      this.#previous.clear();
      this.#seen = version;
    }
    let known = this.#known.get(interval);
    if (!known) this.#known.set(interval, (known = new Set(this.all(interval))));
    return known;
  }
}
