// The embedded default: one SQLite file holds bars, ingested days, coverage and progress, so a
// file is marked done in the same transaction that merges its bars (SQLite transactions are
// atomic only within one database). One process owns its run: the work queue is a local FIFO.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Transaction } from 'better-sqlite3';
import { ActionStore } from './actions.js';
import { BarStore } from './bars.js';
import { DayReplacer } from './bulk.js';
import { FindingStore } from './findings.js';
import { CACHE_FILE, openDatabase, WRITE_CACHE_KIB, type Db } from './db.js';
import { LocalQueue, type LocalCommits } from './queue.js';
import { buildTickerIndex, dropTickerIndex, hasTickerIndex, REBUILD_FROM_FILES, TICKER_INDEX_INTERVAL } from './ticker-index.js';
import { StagedFile } from './staging.js';
import { watchDataVersion } from './watch.js';
import { ProgressStore } from './progress.js';
import { RevisionLog } from './revisions.js';
import { EMPTY_COLUMNS, type Bar, type DayFile } from '../../types.js';
import type { CorporateActions, Split } from '../../corporate-actions.js';
import { withRevision } from '../conflicts.js';
import type { ActionKind, ActionListQuery, ListedActions } from '../action-listing.js';
import { scanByKey } from '../scan.js';
import { allScope, tickerPrefix } from '../scope.js';
import type { CompletedFile, DoneKey, EncodedBars, FileFinding, FileNote, JobProgress, JobSpec, JobStatus, JsonShape, Store, StoredActions, StoredDayChunk, StoreLocation, TickerRange, WorkQueue } from '../types.js';

/** Opens (creating if needed) the SQLite store in `cacheDir`. */
export function openSqliteStore(cacheDir: string): SqliteStore {
  return new SqliteStore(openDatabase(cacheDir), cacheDir);
}

/** Whether `cacheDir` holds a SQLite store yet (a dry run must not create one). */
export function sqliteStoreExists(cacheDir: string): boolean {
  return existsSync(join(cacheDir, CACHE_FILE));
}

export class SqliteStore implements Store, LocalCommits {

  readonly kind = 'sqlite';
  readonly where: string;
  readonly #cacheDir: string;
  readonly #db: Db;
  readonly #bars: BarStore;
  // Built on first use: a read (readBars, fetchSymbol's warm path) opens the store afresh each
  // call, and needs none of the progress, actions or bulk-write machinery (DayReplacer's TEMP
  // table, the commit transactions). Measured on a whole-market store (1,255 days of ~11,000
  // tickers): open and close ~1.6 -> ~0.4 ms; a ticker's 5 years of day bars then take ~10 ms,
  // the 1,255 seeks of the read itself (bars.ts), as on a store already open.
  #progressStore: ProgressStore | undefined;
  #actionStore: ActionStore | undefined;
  #writes: Writes | undefined;
  /** Made before the first transaction of a republished file (its TEMP table outlives a rollback). */
  #revisions: RevisionLog | undefined;
  /** Whole-market day files offered to the open run: from REBUILD_FROM_FILES its commits drop the index by ticker. */
  #offeredAll = 0;

  /** `cacheDir`: the directory of the cache file (CACHE_FILE) that `db` opened. */
  constructor(db: Db, cacheDir: string) {
    this.#db = db;
    this.#cacheDir = cacheDir;
    this.where = join(cacheDir, CACHE_FILE);
    this.#bars = new BarStore(db);
  }

  get #progress(): ProgressStore {
    return (this.#progressStore ??= new ProgressStore(this.#db));
  }

  get #actions(): ActionStore {
    return (this.#actionStore ??= new ActionStore(this.#db));
  }

  /** The commit transactions and the whole-day replacement they use, built on the first write. */
  get #write(): Writes {
    return (this.#writes ??= this.#buildWrites());
  }

  #buildWrites(): Writes {
    const db = this.#db;
    const days = new DayReplacer(db, this.#bars);
    const findings = new FindingStore(db);
    // The key is recorded done in the same transaction that merges its bars, with what was seen in it.
    const commit = db.transaction((batch: readonly CompletedFile[]) => {
      const seenAt = new Date().toISOString();
      for (const { job, file, rows, columns, notes, replaces } of batch) {
        if (job.all) this.#bulkLoading(job);
        const revisions = replaces === true ? this.#revisions : undefined;
        revisions?.before(job, file.day);
        if (job.all) {
          days.fromColumns(job.interval, file.day, tickerPrefix(job.dataset), columns ?? EMPTY_COLUMNS);
          this.#ingested(job, file, columns?.length ?? 0);
        } else {
          for (const ticker of job.tickers) {
            const own = rows.filter((r) => r.ticker === ticker).map((r) => ({ ...r, symbol: ticker, day: file.day }));
            this.#bars.replaceDay(ticker, job.interval, file.day, own);
            this.#bars.markIngested(ticker, job.interval, { ...file, dataset: job.dataset }, own.length);
          }
        }
        findings.record(job, file, withRevision(notes, revisions?.after(job, file.day)), seenAt);
        this.#progress.markDone(job.job, file);
      }
    });
    const commitStaged = db.transaction((job: JobSpec, file: DayFile, staged: StagedFile, notes: readonly FileNote[] | undefined, replaces: boolean) => {
      this.#bulkLoading(job);
      const revisions = replaces ? this.#revisions : undefined;
      revisions?.before(job, file.day);
      days.fromStaging(job.interval, file.day, tickerPrefix(job.dataset), staged.table);
      this.#ingested(job, file, staged.rows);
      findings.record(job, file, withRevision(notes, revisions?.after(job, file.day)), new Date().toISOString());
      this.#progress.markDone(job.job, file);
    });
    return { commit, commitStaged };
  }

  /**
   * A large whole-market load drops the index by ticker, in the transaction of its commit (so no
   * commit ever sees it half kept); buildReadIndex builds it again (ticker-index.ts).
   */
  #bulkLoading(job: JobSpec): void {
    if (job.interval === TICKER_INDEX_INTERVAL && this.#offeredAll >= REBUILD_FROM_FILES) dropTickerIndex(this.#db);
  }

  /**
   * Builds the index by ticker where it is missing (a large `--all` run dropped it, or the cache
   * was migrated from schema 5 with many bars): ~21 s for 5 years of the whole market, during which
   * reads go on (seeking day by day) and other writers wait. Not at the end of that run: it would
   * add as much again to an `--all` of 5 years (ticker-index.ts).
   */
  async buildReadIndex(onBuild?: () => void): Promise<boolean> {
    if (hasTickerIndex(this.#db)) return false;
    onBuild?.();
    return buildTickerIndex(this.#db);
  }

  /** An `--all` job's day: one ingested row under the job's scope. */
  #ingested(job: JobSpec, file: DayFile, rows: number): void {
    this.#bars.markIngested(allScope(job.dataset), job.interval, { ...file, dataset: job.dataset }, rows);
  }

  async prepareJob(job: JobSpec, opts: { clear: boolean }): Promise<void> {
    if (opts.clear) await this.clearJob(job.job, job.tickers, job.interval);
    this.#progress.touchJob(job.job, job.dataset, job.interval, job.tickers);
  }

  async doneKeys(job: string): Promise<Map<string, DoneKey>> {
    return this.#progress.doneKeys(job);
  }

  async ingestedDays(symbol: string, interval: string, start: string, end: string): Promise<Map<string, string>> {
    return this.#bars.ingestedDays(symbol, interval, start, end);
  }

  /** Synchronous under the hood: the whole batch is one SQLite transaction. */
  commitNow(batch: readonly CompletedFile[]): void {
    // IMMEDIATE: the write lock from the start, so a process sharing the cache is waited for
    // (busy timeout) rather than failing the upgrade from reader to writer.
    const { commit } = this.#write;
    if (batch.some((b) => b.replaces === true)) this.#revisions ??= new RevisionLog(this.#db);
    this.#undoing(() => commit.immediate(batch));
  }

  /** Runs a write transaction; if it rolls back, what the symbol list remembered goes too. */
  #undoing(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.#bars.listed.forget();
      throw error;
    }
  }

  /** A staging area for one large file of an `--all` job (see LocalQueue.openFile). */
  stage(): StagedFile {
    return new StagedFile(this.#db);
  }

  /** Replaces the file's day with its staged rows and marks it done, in one transaction; then drops the staging. */
  commitStaged(job: JobSpec, file: DayFile, staged: StagedFile, notes?: readonly FileNote[], replaces = false): void {
    const { commitStaged } = this.#write;
    if (replaces) this.#revisions ??= new RevisionLog(this.#db);
    this.#undoing(() => commitStaged.immediate(job, file, staged, notes, replaces));
    staged.drop();
  }

  async addCoverage(symbol: string, interval: string, start: string, end: string): Promise<void> {
    this.#bars.addCoverage(symbol, interval, start, end);
  }

  async isCovered(symbol: string, interval: string, start: string, end: string): Promise<boolean> {
    return this.#bars.isCovered(symbol, interval, start, end);
  }

  async readBars(symbol: string, interval: string, start: string, end: string): Promise<Bar[]> {
    return this.#bars.read(symbol, interval, start, end);
  }

  async readBarsJson(symbol: string, interval: string, start: string, end: string, shape: JsonShape): Promise<EncodedBars | undefined> {
    return this.#bars.readJson({ symbol, interval, start, end }, shape);
  }

  async barRange(symbols: readonly string[], interval: string, start: string, end: string): Promise<{ first: number; last: number } | undefined> {
    return this.#bars.range(symbols, interval, start, end);
  }

  async listSymbols(interval: string): Promise<string[]> {
    return this.#bars.symbols(interval);
  }

  scanDays(interval: string, start: string, end: string, maxRows: number, tickers?: TickerRange): AsyncIterable<StoredDayChunk> {
    const days = this.#bars.days(interval, start, end);
    return scanByKey(days, (day, after, limit, to) => this.#bars.page(interval, day, after, limit, to), maxRows, tickers);
  }

  scanLocation(): StoreLocation {
    return { store: undefined, cacheDir: this.#cacheDir };
  }

  async getJob(job: string): Promise<JobProgress | undefined> {
    return this.#progress.get(job);
  }

  async listJobs(): Promise<JobProgress[]> {
    return this.#progress.list();
  }

  async clearJob(job: string, tickers: readonly string[], interval: string): Promise<number> {
    return this.#db.transaction(() => {
      for (const t of tickers) this.#bars.clearSymbol(t, interval);
      return this.#progress.clear(job);
    })();
  }

  async status(): Promise<JobStatus[]> {
    return this.#progress.list().map((j) => ({
      job: j.job,
      dataset: j.dataset,
      interval: j.interval,
      symbols: j.symbols,
      // Only done files are recorded here: what is left is known to a run's listing alone.
      files: j.doneKeys,
      done: j.doneKeys,
      claimed: 0,
      failed: 0,
      pending: 0,
      processes: [],
      etaMs: undefined,
      shared: false,
    }));
  }

  async replaceActions(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void> {
    this.#actions.replace(actions, fetchedAt);
  }

  async replaceAllActions(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void> {
    this.#actions.replaceAll(actions, fetchedAt);
  }

  async allActionsFetchedAt(): Promise<string | undefined> {
    return this.#actions.allFetchedAt();
  }

  async getActions(ticker: string): Promise<StoredActions | undefined> {
    return this.#actions.get(ticker);
  }

  async splitsAfter(day: string): Promise<Map<string, Split[]>> {
    return this.#actions.splitsAfter(day);
  }

  async listActions<K extends ActionKind>(kind: K, query: ActionListQuery): Promise<ListedActions[K]> {
    return this.#actions.list(kind, query);
  }

  async actionsFetchedAt(tickers: readonly string[]): Promise<Map<string, string>> {
    return this.#actions.fetchedAt(tickers);
  }

  async fileFindings(dataset?: string): Promise<FileFinding[]> {
    return new FindingStore(this.#db).list(dataset);
  }

  async openQueue(): Promise<WorkQueue> {
    // A run writes in bulk: the page cache a reader keeps small is raised for it (db.ts).
    this.#db.pragma(`cache_size = -${WRITE_CACHE_KIB}`);
    this.#offeredAll = 0;
    return new OfferCountingQueue(this, (job, files) => {
      if (job.all && job.interval === TICKER_INDEX_INTERVAL) this.#offeredAll += files.length;
    });
  }

  /** Commits of other connections, polled (watch.ts). */
  async watchChanges(onChange: () => void): Promise<() => Promise<void>> {
    return watchDataVersion(this.#db, onChange);
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}

/** The local FIFO, telling the store how many files a run is offered (a large whole-market load drops the index by ticker). */
class OfferCountingQueue extends LocalQueue {
  readonly #offered: (job: JobSpec, files: readonly DayFile[]) => void;

  constructor(store: LocalCommits, offered: (job: JobSpec, files: readonly DayFile[]) => void) {
    super(store);
    this.#offered = offered;
  }

  override async offer(job: JobSpec, files: readonly DayFile[]): Promise<void> {
    this.#offered(job, files);
    await super.offer(job, files);
  }
}

/** A store's write transactions (SqliteStore.#buildWrites). */
interface Writes {
  commit: Transaction<(batch: readonly CompletedFile[]) => void>;
  commitStaged: Transaction<(job: JobSpec, file: DayFile, staged: StagedFile, notes: readonly FileNote[] | undefined, replaces: boolean) => void>;
}

