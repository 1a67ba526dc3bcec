// Whole-market days (`--all` jobs): a day file's rows replace the day's bars of every ticker of
// its dataset in one go, from columns handed over by a worker thread or from a staging table.
import type { Statement } from 'better-sqlite3';
import type { RowColumns } from '../../types.js';
import type { BarStore } from './bars.js';
import type { Db } from './db.js';

/**
 * Rows bound per INSERT. Binding dominates an append here: multi-row VALUES costs about a third
 * less than a statement per row, and `json_each` of one JSON string twice as much
 * (bench/stores/sqlite-bulk.ts, `method` rows).
 */
const ROWS_PER_STATEMENT = 512;
const PER_ROW = 8;

/**
 * Inserts RowColumns with multi-row VALUES statements of `tuple` (8 anonymous parameters: ticker,
 * time, open, high, low, close, volume, transactions; anything constant as named parameters),
 * ROWS_PER_STATEMENT rows a statement and the rest in statements of halving size. NaN
 * transactions bind as NULL. Rows go in order, so with OR REPLACE the last of a key wins.
 */
export class ColumnInserter {
  readonly #db: Db;
  readonly #head: string;
  readonly #tuple: string;
  readonly #statements = new Map<number, Statement>();
  readonly #args: unknown[] = new Array<unknown>(ROWS_PER_STATEMENT * PER_ROW);

  constructor(db: Db, head: string, tuple: string) {
    this.#db = db;
    this.#head = head;
    this.#tuple = tuple;
  }

  insert(c: RowColumns, named: Record<string, string>): void {
    let i = 0;
    for (let size = ROWS_PER_STATEMENT; size >= 1; size >>= 1) {
      for (; c.length - i >= size; i += size) {
        const args = size === ROWS_PER_STATEMENT ? this.#args : new Array<unknown>(size * PER_ROW);
        for (let j = 0, o = 0; j < size; j++, o += PER_ROW) {
          const k = i + j;
          args[o] = c.ticker[k];
          args[o + 1] = c.time[k];
          args[o + 2] = c.open[k];
          args[o + 3] = c.high[k];
          args[o + 4] = c.low[k];
          args[o + 5] = c.close[k];
          args[o + 6] = c.volume[k];
          args[o + 7] = c.transactions[k];
        }
        this.#statement(size).run(args, named);
      }
    }
  }

  #statement(size: number): Statement {
    let s = this.#statements.get(size);
    if (!s) this.#statements.set(size, (s = this.#db.prepare(`${this.#head} VALUES ${Array<string>(size).fill(this.#tuple).join(',')}`)));
    return s;
  }
}

const BAR_COLUMNS = 'symbol, interval, time, day, open, high, low, close, volume, transactions';

/** Where a day's rows of one dataset are: its tickers start with the prefix, or (stocks) have no ':'. */
export function ofDataset(prefix: string | undefined): string {
  return prefix === undefined ? "instr(symbol, ':') = 0" : 'symbol >= @lo AND symbol < @hi';
}

/** The named parameters `@lo` and `@hi` of {@link ofDataset}: the tickers that start with `prefix`. */
export function datasetBounds(prefix: string | undefined): { lo?: string; hi?: string } {
  return prefix === undefined ? {} : { lo: prefix, hi: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) };
}

/** Replaces whole days of a dataset's bars. Every method runs inside the caller's transaction. */
export class DayReplacer {
  readonly #db: Db;
  readonly #bars: BarStore;
  readonly #insert: ColumnInserter;
  readonly #stillThere;
  readonly #gone;
  readonly #byScope = new Map<string, { remember: Statement; remove: Statement }>();

  constructor(db: Db, bars: BarStore) {
    this.#db = db;
    this.#bars = bars;
    // Tickers whose bars of the day are being replaced: those the new file drops may have no bar left.
    db.exec('CREATE TEMP TABLE IF NOT EXISTS pmd_replaced (symbol TEXT PRIMARY KEY) WITHOUT ROWID');
    this.#insert = new ColumnInserter(db, `INSERT OR REPLACE INTO bars (${BAR_COLUMNS})`, '(?, @interval, ?, @day, ?, ?, ?, ?, ?, ?)');
    this.#stillThere = db.prepare('DELETE FROM temp.pmd_replaced WHERE symbol IN (SELECT symbol FROM bars WHERE interval = @interval AND day = @day)');
    this.#gone = db.prepare<[], { symbol: string }>('DELETE FROM temp.pmd_replaced RETURNING symbol');
  }

  /** Replaces the dataset's bars of (interval, day) with `columns`. */
  fromColumns(interval: string, day: string, prefix: string | undefined, columns: RowColumns): void {
    const named = { interval, day };
    const replaced = this.#remove(named, prefix);
    this.#insert.insert(columns, named);
    this.#bars.markDay(interval, day);
    this.#bars.listed.add(interval, columns.ticker);
    this.#unlistDropped(named, replaced);
  }

  /** Replaces the dataset's bars of (interval, day) with the rows of a staging table, in their order. */
  fromStaging(interval: string, day: string, prefix: string | undefined, table: string): void {
    const named = { interval, day };
    const replaced = this.#remove(named, prefix);
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO bars (${BAR_COLUMNS})
         SELECT symbol, @interval, time, @day, open, high, low, close, volume, transactions FROM temp."${table}" WHERE true ORDER BY rowid`,
      )
      .run(named);
    this.#bars.markDay(interval, day);
    this.#bars.listed.addDay(interval, day);
    this.#unlistDropped(named, replaced);
  }

  /** Deletes the day's bars of the dataset, remembering their tickers; returns how many there were. */
  #remove(named: { interval: string; day: string }, prefix: string | undefined): number {
    const scope = this.#scope(prefix);
    const bounds = datasetBounds(prefix);
    const { changes } = scope.remember.run({ ...named, ...bounds });
    if (changes > 0) scope.remove.run({ ...named, ...bounds });
    return changes;
  }

  /** Takes the tickers the new file dropped off the list, unless they still have bars of other days. */
  #unlistDropped(named: { interval: string; day: string }, replaced: number): void {
    if (replaced === 0) return;
    this.#stillThere.run(named);
    for (const { symbol } of this.#gone.all()) this.#bars.unlistIfGone(symbol, named.interval);
  }

  #scope(prefix: string | undefined): { remember: Statement; remove: Statement } {
    const key = prefix ?? '';
    let s = this.#byScope.get(key);
    if (!s) {
      const where = `interval = @interval AND day = @day AND ${ofDataset(prefix)}`;
      s = {
        remember: this.#db.prepare(`INSERT OR IGNORE INTO temp.pmd_replaced (symbol) SELECT DISTINCT symbol FROM bars WHERE ${where}`),
        remove: this.#db.prepare(`DELETE FROM bars WHERE ${where}`),
      };
      this.#byScope.set(key, s);
    }
    return s;
  }
}
