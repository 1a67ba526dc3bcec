// The PostgreSQL store: one database shared by every process on every machine that preloads the
// same jobs. This module holds the Store's reads and bookkeeping; each process's claims on files
// are its queue's (queue.ts). Every statement is a function of sql/, run through the one pool of db.ts.
import type { CorporateActions, Split } from '../../corporate-actions.js';
import { windowDays } from '../../market-time.js';
import type { Bar } from '../../types.js';
import { scanByKey, type ScanKey } from '../scan.js';
import type { ActionKind, ActionListQuery, ListedActions } from '../action-listing.js';
import type { DoneKey, EncodedBars, FileFinding, JobProgress, JobSpec, JobStatus, JsonShape, ScanRow, Store, StoredActions, StoredDayChunk, TickerRange, WorkQueue } from '../types.js';
import * as actions from './actions.js';
import { clearJob } from './clear.js';
import { Db } from './db.js';
import { openPostgresQueue } from './queue.js';
import { toDoneKey, toProgress } from './rows.js';
import { ensureSchema } from './schema.js';
import { selectFindings } from './sql/findings.js';
import * as bars from './sql/bars.js';
import * as coverage from './sql/coverage.js';
import { doneFiles, selectJob, selectJobSpecs, selectJobs, upsertJob } from './sql/jobs.js';
import { jobCounts, jobProcesses } from './sql/live.js';
import { buildTickerIndex, TICKER_INDEX_INTERVAL } from './sql/ticker-index.js';
import { watchNotifications } from './watch.js';

/** Tuning of a PostgreSQL store (tests shorten them). */
export interface PostgresStoreOptions {
  /**
   * A claim whose owner's heartbeat is older than this is taken over even if the owner's session
   * is still open (a hung process).
   * @default 30000
   */
  leaseMs?: number;
  /** @default 2000 */
  heartbeatMs?: number;
  /** Connections of the pool for ordinary queries (each queue adds its own session). @default 4 */
  poolSize?: number;
  /**
   * A store that goes away once reached (a restart) is waited for this long: lost statements are
   * retried and a lost queue session registers again; 0 fails at once.
   * @default 60000
   */
  storeTimeoutMs?: number;
}

/**
 * Connects to the store at `url`, creates its tables on first use (safe when several processes
 * start at once) and refuses a store of another schema version. Needs PostgreSQL 14 or later
 * (`range_agg` for coverage); tested on 18.
 * @throws {StoreError} unreachable, refused, or another schema version; the message names the masked URL.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const resolved: Required<PostgresStoreOptions> = {
    leaseMs: options.leaseMs ?? 30_000,
    heartbeatMs: options.heartbeatMs ?? 2_000,
    poolSize: options.poolSize ?? 4,
    storeTimeoutMs: options.storeTimeoutMs ?? 60_000,
  };
  const db = new Db(url, resolved.poolSize, resolved.storeTimeoutMs);
  try {
    await ensureSchema(db);
  } catch (error) {
    await db.end().catch(() => {});
    throw error;
  }
  return new PostgresStore(db, resolved);
}

/** A store shared by processes on several machines. Open it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly #db: Db;
  readonly #options: Required<PostgresStoreOptions>;

  /** Use {@link openPostgresStore}, which also checks the schema. */
  constructor(db: Db, options: Required<PostgresStoreOptions>) {
    this.#db = db;
    this.where = db.where;
    this.#options = options;
  }

  async prepareJob(job: JobSpec, opts: { clear: boolean }): Promise<void> {
    if (opts.clear) await this.clearJob(job.job, job.tickers, job.interval);
    await upsertJob(this.#db, { ...job, symbols: [...job.tickers].sort() });
  }

  async doneKeys(job: string): Promise<Map<string, DoneKey>> {
    const rows = await doneFiles(this.#db, job);
    return new Map(rows.map((r) => [r.key, toDoneKey(r)]));
  }

  async ingestedDays(symbol: string, interval: string, start: string, end: string): Promise<Map<string, string>> {
    const rows = await coverage.ingestedDays(this.#db, symbol, interval, start, end);
    return new Map(rows.map((r) => [r.day, r.etag]));
  }

  async addCoverage(symbol: string, interval: string, start: string, end: string): Promise<void> {
    await coverage.addCoverage(this.#db, symbol, interval, start, end);
  }

  async isCovered(symbol: string, interval: string, start: string, end: string): Promise<boolean> {
    return coverage.isCovered(this.#db, symbol, interval, start, end);
  }

  async readBars(symbol: string, interval: string, start: string, end: string): Promise<Bar[]> {
    if (interval === TICKER_INDEX_INTERVAL) {
      const along = await bars.readBars(this.#db, interval, { kind: 'range', from: start, to: end }, symbol);
      // Nothing: no bars, or the index not valid (the read did not run): the day-by-day read says.
      if (along.length > 0) return along;
    }
    return bars.readBars(this.#db, interval, { kind: 'days', days: await this.#storedDays(interval, start, end) }, symbol);
  }

  async readBarsJson(symbol: string, interval: string, start: string, end: string, shape: JsonShape): Promise<EncodedBars | undefined> {
    if (interval === TICKER_INDEX_INTERVAL) {
      const along = await bars.readBarsJson(this.#db, interval, { kind: 'range', from: start, to: end }, symbol, shape);
      if (along.indexed) return along.bars;
    }
    return (await bars.readBarsJson(this.#db, interval, { kind: 'days', days: await this.#storedDays(interval, start, end) }, symbol, shape)).bars;
  }

  async barRange(
    symbols: readonly string[],
    interval: string,
    start: string,
    end: string,
  ): Promise<{ first: number; last: number } | undefined> {
    const row = await bars.barRange(this.#db, interval, await this.#storedDays(interval, start, end), symbols);
    return row?.first == null || row.last == null ? undefined : { first: row.first, last: row.last };
  }

  /**
   * The calendar days of [start, end] clamped to the interval's first and last stored day: a read
   * of everything stored (from '0000-01-01') must not probe two thousand years of days. A read of
   * day bars by ticker goes along the index by ticker first, where it is valid (sql/ticker-index.ts).
   */
  async #storedDays(interval: string, start: string, end: string): Promise<string[]> {
    const span = await bars.storedSpan(this.#db, interval);
    if (!span?.lo || !span.hi) return [];
    return windowDays(start > span.lo ? start : span.lo, end < span.hi ? end : span.hi);
  }

  async listSymbols(interval: string): Promise<string[]> {
    // Sorted here in code-unit order: the database's collation may order text otherwise.
    return (await bars.listSymbols(this.#db, interval)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Scanned on the caller's thread: its rows arrive over the network. */
  scanLocation(): undefined {
    return undefined;
  }

  async *scanDays(interval: string, start: string, end: string, maxRows: number, tickers?: TickerRange): AsyncIterable<StoredDayChunk> {
    // A day along the primary key (interval, day, symbol, time).
    const page = (day: string, after: ScanKey, limit: number, to: string): Promise<ScanRow[]> => bars.scanDayPage(this.#db, interval, day, after, limit, to);
    yield* scanByKey(await this.#storedDays(interval, start, end), page, maxRows, tickers);
  }

  async getJob(job: string): Promise<JobProgress | undefined> {
    const row = await selectJob(this.#db, job);
    return row && toProgress(row);
  }

  async listJobs(): Promise<JobProgress[]> {
    return (await selectJobs(this.#db)).map(toProgress);
  }

  /**
   * @throws {InvalidOptionError} naming `clearProgress`, while a live process works on the job
   *   (see clear.ts); nothing is deleted.
   */
  async clearJob(job: string, tickers: readonly string[], interval: string): Promise<number> {
    return clearJob(this.#db, job, tickers, interval, this.#options.leaseMs);
  }

  async status(): Promise<JobStatus[]> {
    const result: JobStatus[] = [];
    for (const j of await selectJobSpecs(this.#db)) {
      const counts = await jobCounts(this.#db, [j.job], this.#options.leaseMs);
      const processes = await jobProcesses(this.#db, [j.job], this.#options.leaseMs);
      const rate = processes.filter((p) => p.alive).reduce((sum, p) => sum + p.filesPerSecond, 0);
      const left = counts.pending + counts.claimed;
      const etaMs = left === 0 ? 0 : rate > 0 ? Math.round((left / rate) * 1000) : undefined;
      result.push({ ...j, ...counts, processes, etaMs, shared: true });
    }
    return result;
  }

  async replaceActions(byTicker: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void> {
    await actions.replaceActions(this.#db, byTicker, fetchedAt);
  }

  async replaceAllActions(byTicker: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void> {
    await actions.replaceAllActions(this.#db, byTicker, fetchedAt);
  }

  async allActionsFetchedAt(): Promise<string | undefined> {
    return actions.allActionsFetchedAt(this.#db);
  }

  async getActions(ticker: string): Promise<StoredActions | undefined> {
    return actions.getActions(this.#db, ticker);
  }

  async splitsAfter(day: string): Promise<Map<string, Split[]>> {
    return actions.splitsAfter(this.#db, day);
  }

  async listActions<K extends ActionKind>(kind: K, query: ActionListQuery): Promise<ListedActions[K]> {
    return actions.listActions(this.#db, kind, query);
  }

  async fileFindings(dataset?: string): Promise<FileFinding[]> {
    return selectFindings(this.#db, dataset);
  }

  async actionsFetchedAt(tickers: readonly string[]): Promise<Map<string, string>> {
    return actions.actionsFetchedAt(this.#db, tickers);
  }

  async openQueue(jobs: readonly JobSpec[]): Promise<WorkQueue> {
    return openPostgresQueue(this.#db, jobs, this.#options);
  }

  /**
   * Builds the index by ticker of day bars where it is missing (a large `--all` dropped it, or the
   * store outgrew BUILD_AT_OPEN_ROWS without it): ~22 s for 5 years of the whole market,
   * concurrently, so reads (day by day meanwhile) and merges go on (sql/ticker-index.ts).
   */
  async buildReadIndex(onBuild?: () => void): Promise<boolean> {
    return this.#db.withPgClient((c) => buildTickerIndex(c, onBuild));
  }

  /** Commits of every process, as PostgreSQL delivers their notices (watch.ts). */
  async watchChanges(onChange: () => void): Promise<() => Promise<void>> {
    return watchNotifications(this.#db, onChange);
  }

  async close(): Promise<void> {
    await this.#db.end();
  }
}
