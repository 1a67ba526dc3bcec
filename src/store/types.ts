// The store behind a run: bars, ingested days, coverage, progress, and (for a shared store) the
// claims on files. Two implementations: SQLite (the embedded default, one file) and PostgreSQL
// (shared by processes on several machines). The pipeline talks to this interface only.
import type { CorporateActions, Split } from '../corporate-actions.js';
import type { Bar, BarConflict, DayFile, FailureCode, JobCounts, ParsedRow, RowColumns } from '../types.js';
import type { ActionKind, ActionListQuery, ListedActions } from './action-listing.js';

// In the leaf beside Bar, so that the parsers (below the store) can name the duplicates they find.
export type { BarConflict, BarValues } from '../types.js';

/** A ticker's stored corporate actions, oldest first, and when they were fetched (ISO time). */
export interface StoredActions extends CorporateActions {
  fetchedAt: string;
}

/** What the progress store knows of one job (a dataset, an interval and a set of tickers). */
export interface JobProgress {
  job: string;
  dataset: string;
  interval: string;
  symbols: string[];
  /** Day files recorded as done (downloaded, verified and merged). */
  doneKeys: number;
  bytes: number;
  createdAt: string;
  updatedAt: string;
}

/** A file recorded as done, with what its listing said when it was ingested. */
export interface DoneKey {
  key: string;
  size: number;
  etag: string;
  lastModified: string | undefined;
}

/** A job as the run registers it. */
export interface JobSpec {
  job: string;
  dataset: string;
  /** Stored interval: `1d`, or `1m` for every intraday interval. */
  interval: '1d' | '1m';
  /**
   * The tickers whose rows are kept. For an `--all` job (every row of every file) this is the
   * one scope `allScope(dataset)` (scope.ts), under which its ingested days and coverage are kept.
   */
  tickers: readonly string[];
  /** Every row of every file is stored (`--all`): rows come as columns, a day is replaced for every ticker. */
  all?: boolean | undefined;
}

/**
 * What a run saw in a file, recorded with its bars so that a later `check` can list it:
 * `misdated`, a day file's rows whose window_start claimed another day (detail: `claimedDate`,
 * `rows`; they were stored under the file's day); `outside-session`, a minute file's rows outside
 * its day (detail: `rows`; kept with their own time); `duplicate`, rows of one ticker and time
 * inside the file with different values, of which the store keeps one (detail: `rows` dropped,
 * `examples` kept against dropped); `revised`, a republished file (new ETag) whose bars differ
 * from the ones it replaced (detail: `rows` changed, added or removed, `examples` old against new).
 * `examples` holds at most a few conflicts a file (the first ones), `rows` counts them all.
 */
export interface FileNote {
  kind: 'misdated' | 'outside-session' | 'duplicate' | 'revised';
  detail: { rows: number; claimedDate?: string; examples?: BarConflict[]; added?: number; removed?: number };
}

/** A FileNote as the store keeps it: which job's run saw it in which file, and when (ISO time). */
export interface FileFinding extends FileNote {
  job: string;
  dataset: string;
  key: string;
  day: string;
  seenAt: string;
}

/** A downloaded, verified and parsed file, ready to be merged and marked done in one transaction. */
export interface CompletedFile {
  job: JobSpec;
  file: DayFile;
  /** Rows of the job's tickers found in the file (any ticker of the job may have none: a halt). */
  rows: readonly ParsedRow[];
  /** An `--all` job's rows (every row of the file), in columns; `rows` is then empty. */
  columns?: RowColumns | undefined;
  /** What the run saw in the file: recorded in the same transaction, replacing the job's earlier notes of the file. */
  notes?: readonly FileNote[] | undefined;
  /**
   * The file replaces an earlier version of its day (republished: same key, new ETag): the store
   * compares the day's stored bars (of the job's tickers; every ticker of the dataset for `--all`)
   * with the new ones before replacing them, and records a `revised` note when they differ. Only
   * then: a first ingest pays for no comparison.
   */
  replaces?: boolean | undefined;
}

/**
 * One large file of an `--all` job on its way into the store, chunk by chunk as it is inflated:
 * chunks wait in a staging area that no reader sees, and `commit` replaces the file's day with
 * them and marks the file done in one transaction. Memory stays flat whatever the file's size:
 * each `write` resolves once its chunk is staged (the back-pressure on the download).
 */
export interface FileSink {
  write(chunk: RowColumns): Promise<void>;
  /** The download starts the body over (a failed check): forget what was staged. */
  reset(): Promise<void>;
  /**
   * Replaces the day with the staged rows, records the day ingested, the file's notes and the file
   * done, in one transaction (opened with `replaces`: and a `revised` note, as CompletedFile.replaces).
   */
  commit(notes?: readonly FileNote[]): Promise<void>;
  /** Drops what was staged (the file failed or the run stopped); the file is neither done nor failed here. */
  abort(): Promise<void>;
}

/** A file handed to this process to download. */
export interface WorkItem {
  job: string;
  file: DayFile;
}

/** One process that took part in a job on a shared store. */
export interface ProcessInfo {
  id: number;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  endedAt: string | undefined;
  /** True while its database session is open (its claims are held). */
  alive: boolean;
  filesDone: number;
  bytes: number;
  /** Files done per second since it started (or until it ended). */
  filesPerSecond: number;
}

/** What `status` shows of one job. */
export interface JobStatus extends JobCounts {
  job: string;
  dataset: string;
  interval: string;
  symbols: string[];
  processes: ProcessInfo[];
  /** Estimated ms until the job completes at the live processes' rate; undefined when unknown. */
  etaMs: number | undefined;
  /**
   * False for the SQLite cache, which records done files only: what is left is known to the next
   * run's listing, so `files` there counts the done ones.
   */
  shared: boolean;
}

/**
 * The files of a run that still need downloading. For SQLite a local FIFO: every listed file
 * this process needs is its own. For PostgreSQL a table shared by every process on the job: each
 * file is claimed by exactly one live process; a dead process's claims are taken over.
 */
export interface WorkQueue {
  /** Files a listing found that the job still needs (not done with this ETag). */
  offer(job: JobSpec, files: readonly DayFile[]): Promise<void>;
  /**
   * Up to `n` files for this process to download now; empty when none is free right now. A shared
   * store hands out no more than a fair share (files left over live processes on the job, less
   * what this process holds): claim again as files complete.
   */
  claim(n: number): Promise<WorkItem[]>;
  /** A file failed after its retries: recorded as failed (a later run retries it), its claim released. */
  fail(item: WorkItem, failure: { code: FailureCode; message: string }): Promise<void>;
  /** Files this process will not finish (the run is stopping): another process may take them. */
  release(items: readonly WorkItem[]): Promise<void>;
  /**
   * Files of the run's jobs that are neither done nor failed: `pending` (free to claim) and
   * `claimedByOthers` (being downloaded by another live process). The run ends when both are 0
   * and nothing is in flight here.
   */
  remaining(): Promise<{ pending: number; claimedByOthers: number }>;
  /**
   * Merges each file's bars (replacing its day for each ticker of its job), records the ingested
   * days, marks the files done and releases their claims, all in one transaction: no file is
   * ever done without its bars. Re-ingesting a day never duplicates a row.
   */
  complete(batch: readonly CompletedFile[]): Promise<void>;
  /**
   * A sink for one large file of an `--all` job (see FileSink). At most a few are open at once:
   * the caller waits for this promise before streaming.
   */
  openFile(job: JobSpec, file: DayFile, opts?: { replaces?: boolean | undefined }): Promise<FileSink>;
  /** Whole-job counts over the run's jobs (for the local queue: what this run registered). */
  counts(): Promise<JobCounts>;
  /** The processes that took part in the run's jobs (shared stores; empty for the local queue). */
  processes(): Promise<ProcessInfo[]>;
  /** This process's id in a shared store (undefined for the local queue). */
  readonly processId: number | undefined;
  /**
   * Request slots under a cap of `rps` shared by every process on the store: `n` start times
   * (local epoch ms, ascending), at least 1/rps apart from any other slot granted to anyone.
   * Undefined for stores that do not share a cap (the cap is then this process's own).
   */
  rateSlots?: (rps: number, n: number) => Promise<number[]>;
  /** Ends this process's part: releases what it still holds, heartbeats stop. */
  close(): Promise<void>;
}

/** A stored bar as a scan returns it: symbol, time, open, high, low, close, volume, transactions (null: none). */
export type ScanRow = [string, number, number, number, number, number, number, number | null];

/** Tickers from `from` (included; default: the first) to `to` (excluded; default: after the last), in code-unit order. */
export interface TickerRange {
  from?: string | undefined;
  to?: string | undefined;
}

/** Stored rows of one day file, in key order (see `Store.scanDays`). */
export interface StoredDayChunk {
  /** The day file they came from. */
  day: string;
  rows: ScanRow[];
  /** This day's place among the days of the scan (1 for the first), and how many it has. */
  place: number;
  days: number;
}

/** Where the store is: a PostgreSQL URL, else the SQLite file in the cache directory. */
export interface StoreLocation {
  store: string | undefined;
  cacheDir: string;
  /** How long a PostgreSQL store that goes away once reached is waited for (ms). @default 60000 */
  storeTimeoutMs?: number;
}

/** The objects {@link Store.readBarsJson} encodes. */
export interface JsonShape {
  /** Each key of an object (a plain name) with the bar field it holds, in order; a null field is left out. */
  fields: readonly (readonly [key: string, field: keyof Bar])[];
  /** Newest first. */
  desc: boolean;
  /** The most bars wanted: more than this, and the store answers undefined. */
  limit: number;
}

/** Bars encoded by the store ({@link Store.readBarsJson}). */
export interface EncodedBars {
  /** A JSON array of objects. */
  json: string;
  count: number;
  /** The earliest bar's time (ms); undefined when there is none. */
  first: number | undefined;
}

/** The store behind a run and behind `fetchSymbol` / `readBars` / `show`. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, safe to print: a path, or a URL with its password masked. */
  readonly where: string;

  /** Registers a job; with `clear`, first forgets its done files and its tickers' days and coverage. */
  prepareJob(job: JobSpec, opts: { clear: boolean }): Promise<void>;
  /** Keys of a job recorded done, with the listing they were ingested from. */
  doneKeys(job: string): Promise<Map<string, DoneKey>>;
  /** Days already ingested for a symbol within [start, end], with the ETag of their file. */
  ingestedDays(symbol: string, interval: string, start: string, end: string): Promise<Map<string, string>>;
  /** Records that every listed day of [start, end] is ingested for `symbol`. */
  addCoverage(symbol: string, interval: string, start: string, end: string): Promise<void>;
  /** True when [start, end] lies within the recorded complete windows. */
  isCovered(symbol: string, interval: string, start: string, end: string): Promise<boolean>;
  /** Bars of a symbol from the day files of [start, end], oldest first. */
  readBars(symbol: string, interval: string, start: string, end: string): Promise<Bar[]>;
  /**
   * A symbol's bars of `interval` from the day files of [start, end] as the store itself encodes
   * them in JSON: the bars `readBars` returns, one object per bar with `shape`'s keys, in time order
   * (newest first with `desc`). Numbers have readBars' values, not always JSON.stringify's text
   * (`9.0`, 17 digits). Undefined where the store cannot answer so (no index by ticker, minute
   * bars, two day files holding one time) or holds more than `shape.limit` bars: the caller reads
   * them with readBars. Optional: serve's daily answers cost about half as much through it.
   */
  readBarsJson?(symbol: string, interval: string, start: string, end: string, shape: JsonShape): Promise<EncodedBars | undefined>;
  /** First and last bar time (ms) of these symbols' bars from the day files of [start, end]. */
  barRange(symbols: readonly string[], interval: string, start: string, end: string): Promise<{ first: number; last: number } | undefined>;
  /** Every ticker with bars of `interval` in the store, sorted (code-unit order). */
  listSymbols(interval: string): Promise<string[]>;
  /**
   * Every stored bar of `interval` from the day files of [start, end], in the key's order: day by
   * day, each day's rows by ticker, then time. At most `maxRows` rows a chunk, and a chunk never
   * spans two days. The bulk read of a whole-market export: one pass along the day-major key,
   * where a read per ticker seeks once per ticker and day. `tickers`: only those in the range
   * (several threads may each scan a part of the market); then every day of the scan has a chunk,
   * empty when the range has no rows that day.
   */
  scanDays(interval: string, start: string, end: string, maxRows: number, tickers?: TickerRange): AsyncIterable<StoredDayChunk>;
  /**
   * Where a thread of its own may open this store again to run a long `scanDays` (a whole-market
   * export): a SQLite store answers its location, since its driver blocks the thread it reads on
   * and the scan is as much work as writing its rows out; a store whose rows arrive over the
   * network answers undefined, and is scanned on the caller's thread.
   */
  scanLocation(): StoreLocation | undefined;
  getJob(job: string): Promise<JobProgress | undefined>;
  listJobs(): Promise<JobProgress[]>;
  /**
   * Forgets a job's done files, and its tickers' ingested days and coverage. Returns the files
   * forgotten. A shared store refuses while live processes work on the job (InvalidOptionError).
   */
  clearJob(job: string, tickers: readonly string[], interval: string): Promise<number>;
  /** Every job with its counts and processes, for `status` (SQLite: no processes). */
  status(): Promise<JobStatus[]>;
  /**
   * Replaces the corporate actions of every ticker in `actions` (the provider's rows as given),
   * all in one transaction, and records `fetchedAt` for each.
   */
  replaceActions(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void>;
  /**
   * Replaces the corporate actions of every stock ticker with the whole market's listing (`actions`
   * holds the tickers listed; every other stock ticker then has none), all in one transaction, and
   * records `fetchedAt` as the market-wide fetch. A ticker whose own fetch (replaceActions) is
   * newer than `fetchedAt` keeps its rows.
   */
  replaceAllActions(actions: ReadonlyMap<string, CorporateActions>, fetchedAt: string): Promise<void>;
  /** When the whole market's actions were last stored (ISO time); undefined when never. */
  allActionsFetchedAt(): Promise<string | undefined>;
  /**
   * A ticker's stored actions; undefined when they were never fetched. `fetchedAt` is the newer of
   * its own fetch and, for a stock ticker, the market-wide one.
   */
  getActions(ticker: string): Promise<StoredActions | undefined>;
  /**
   * When each of `tickers` had its actions fetched (ISO time: the newer of its own fetch and, for a
   * stock ticker, the market-wide one); tickers never fetched are absent.
   */
  actionsFetchedAt(tickers: readonly string[]): Promise<Map<string, string>>;
  /**
   * Every stored split executed after `day` (YYYY-MM-DD), of every ticker, by ticker, each list by
   * date then id: what a whole day's bars need for their split adjustment, in one read.
   */
  splitsAfter(day: string): Promise<Map<string, Split[]>>;
  /**
   * The stored splits or dividends of every stock ticker whose actions were fetched (on its own or
   * by the market-wide listing), filtered, sorted and paged in the database (action-listing.ts):
   * one read where getActions per ticker would be one per ticker. serve's listings without a ticker.
   */
  listActions<K extends ActionKind>(kind: K, query: ActionListQuery): Promise<ListedActions[K]>;
  /** What runs recorded in files of `dataset` (every dataset when undefined), by day then key. */
  fileFindings(dataset?: string): Promise<FileFinding[]>;
  /**
   * Calls `onChange` after something else committed to the store (a preload, a sync, a clear, in
   * this process or another), so that a reader holding answers from it (serve's cache) drops them;
   * also after a gap in watching (a lost connection), when a change may have been missed. Returns
   * the function that stops watching. Optional: a store without it is never cached by `serve`.
   */
  watchChanges?(onChange: () => void): Promise<() => Promise<void>>;
  /** The work queue of one run over these jobs (registers this process in a shared store). */
  openQueue(jobs: readonly JobSpec[]): Promise<WorkQueue>;
  /**
   * Builds what fast reads by ticker need where it is missing, and resolves whether it built
   * anything (both stores: their index by ticker of day bars, ~20-24 s for 5 years of the whole
   * market, after a large `--all` dropped it; reads are right without it, only slower). A server
   * calls it before it listens.
   * `onBuild` is called first when it does build (a caller says so before the wait).
   */
  buildReadIndex?(onBuild?: () => void): Promise<boolean>;
  close(): Promise<void>;
}
