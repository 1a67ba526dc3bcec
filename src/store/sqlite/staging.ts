// Staging for large files of `--all` jobs: chunks wait in a TEMP table of the connection until
// the file is complete. The temp database lives in a file SQLite unlinks as it creates it
// (temp_store = FILE, db.ts) and has a page cache of its own, so staging a file of any
// size keeps memory flat, no other connection or process ever sees it, nothing is locked in the
// cache file while it fills, and a killed process leaves nothing behind to clean.
import type { RowColumns } from '../../types.js';
import { ColumnInserter } from './bulk.js';
import type { Db } from './db.js';

let nextTable = 0;

/** One file's staged rows (a TEMP table, in arrival order). Every call is a transaction of its own. */
export class StagedFile {
  readonly table = `pmd_stage_${nextTable++}`;
  readonly #db: Db;
  readonly #insert: ColumnInserter;
  #rows = 0;
  #dropped = false;

  constructor(db: Db) {
    this.#db = db;
    db.exec(`CREATE TEMP TABLE "${this.table}" (
      symbol TEXT NOT NULL, time INTEGER NOT NULL, open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL,
      close REAL NOT NULL, volume REAL NOT NULL, transactions INTEGER)`);
    this.#insert = new ColumnInserter(db, `INSERT INTO temp."${this.table}"`, '(?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** Rows staged so far. */
  get rows(): number {
    return this.#rows;
  }

  get dropped(): boolean {
    return this.#dropped;
  }

  write(chunk: RowColumns): void {
    if (this.#dropped) throw new Error(`Staging ${this.table} was already committed or aborted`);
    this.#db.transaction(() => this.#insert.insert(chunk, {}))();
    this.#rows += chunk.length;
  }

  clear(): void {
    if (this.#dropped) return;
    this.#db.exec(`DELETE FROM temp."${this.table}"`);
    this.#rows = 0;
  }

  drop(): void {
    if (this.#dropped || !this.#db.open) return;
    this.#db.exec(`DROP TABLE temp."${this.table}"`);
    this.#dropped = true;
  }
}
