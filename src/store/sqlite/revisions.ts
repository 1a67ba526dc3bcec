// A republished file's day, old bars against new (a `revised` note): the day's stored bars of the
// file's scope (the job's tickers, or every ticker of the dataset for --all) are copied into a TEMP
// table before the file replaces them, and compared with what is stored after, in the same
// transaction. Only a file that replaces an earlier version pays for it (CompletedFile.replaces);
// SQL does the comparison, so a streamed file's day (a staging table, any size) costs no memory.
import type { Statement } from 'better-sqlite3';
import { MAX_EXAMPLES } from '../../parse/duplicates.js';
import { BAR_VALUES, BOTH_SIDES, toConflict, type ConflictRow } from '../conflicts.js';
import { tickerPrefix } from '../scope.js';
import type { FileNote, JobSpec } from '../types.js';
import { datasetBounds, ofDataset } from './bulk.js';
import type { Db } from './db.js';

const DIFFERS = BAR_VALUES.map((v) => `p.${v} IS NOT b.${v}`).join(' OR ');
const MATCH = 'b.interval = @interval AND b.day = @day AND b.symbol = p.symbol AND b.time = p.time';

interface Scoped {
  snapshot: Statement;
  counts: Statement;
  examples: Statement;
}

interface Counts {
  before: number;
  now: number;
  matched: number;
  changed: number;
}


export class RevisionLog {
  readonly #db: Db;
  readonly #clear: Statement;
  readonly #byScope = new Map<string, Scoped>();

  /** Creates the TEMP table: call outside a transaction (a rollback would take it away). */
  constructor(db: Db) {
    this.#db = db;
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS pmd_previous (
      symbol TEXT NOT NULL, time INTEGER NOT NULL, open REAL, high REAL, low REAL, close REAL, volume REAL, transactions INTEGER,
      PRIMARY KEY (symbol, time)) WITHOUT ROWID`);
    this.#clear = db.prepare('DELETE FROM temp.pmd_previous');
  }

  /** Keeps the day's stored bars of the job's scope. Call inside the file's transaction, before its bars replace them. */
  before(job: JobSpec, day: string): void {
    const { scoped, params } = this.#scoped(job, day);
    this.#clear.run();
    scoped.snapshot.run(params);
  }

  /** The day's bars now against those kept by `before`: a `revised` note, or undefined when nothing changed. */
  after(job: JobSpec, day: string): FileNote | undefined {
    const { scoped, params } = this.#scoped(job, day);
    const c = scoped.counts.get(params) as Counts;
    const added = c.now - c.matched;
    const removed = c.before - c.matched;
    if (c.changed === 0 && added === 0 && removed === 0) return undefined;
    const examples = c.changed === 0 ? [] : (scoped.examples.all(params) as ConflictRow[]).map(toConflict);
    return { kind: 'revised', detail: { rows: c.changed, added, removed, examples } };
  }

  #scoped(job: JobSpec, day: string): { scoped: Scoped; params: Record<string, string> } {
    const prefix = job.all === true ? tickerPrefix(job.dataset) : undefined;
    const scope = job.all === true ? ofDataset(prefix) : 'symbol IN (SELECT value FROM json_each(@tickers))';
    const params = { interval: job.interval, day, ...(job.all === true ? datasetBounds(prefix) : { tickers: JSON.stringify(job.tickers) }) };
    let scoped = this.#byScope.get(scope);
    if (!scoped) {
      const ofDay = `interval = @interval AND day = @day AND (${scope})`;
      scoped = {
        snapshot: this.#db.prepare(`INSERT INTO temp.pmd_previous SELECT symbol, time, ${BAR_VALUES.join(', ')} FROM bars WHERE ${ofDay}`),
        counts: this.#db.prepare(`SELECT (SELECT COUNT(*) FROM temp.pmd_previous) AS before, (SELECT COUNT(*) FROM bars WHERE ${ofDay}) AS now,
            COUNT(*) AS matched, COALESCE(SUM(${DIFFERS}), 0) AS changed
          FROM temp.pmd_previous p JOIN bars b ON ${MATCH}`),
        examples: this.#db.prepare(`SELECT p.symbol, p.time, ${BOTH_SIDES}
          FROM temp.pmd_previous p JOIN bars b ON ${MATCH} WHERE ${DIFFERS} ORDER BY p.symbol, p.time LIMIT ${MAX_EXAMPLES}`),
      };
      this.#byScope.set(scope, scoped);
    }
    return { scoped, params };
  }
}
