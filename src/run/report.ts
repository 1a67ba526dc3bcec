// The report of a run: its type (the CLI's `--json` output) and how it is built at the end.
import type { FailureCode, JobCounts } from '../types.js';
import type { Interval } from '../options.js';
import type { JobPlan } from '../plan.js';
import type { ProgressEvent } from '../events.js';
import type { ProcessInfo, Store } from '../store/types.js';

/** A key that failed after its retries. */
export interface Failure {
  key: string;
  code: FailureCode;
  message: string;
}

/**
 * A day file whose rows' window_start claimed another date: they were stored under the file's
 * `day` (the file is the calendar). One entry per claimed date. `rows`: the rows of the run's
 * symbols (every row for `all`).
 */
export interface MisdatedFile {
  key: string;
  day: string;
  rows: number;
  claimedDate: string;
}

/**
 * A file with rows of one ticker and time whose values differ: the file's last row of each was
 * kept, `rows` counts the others dropped (identical repeats are only in `duplicateRows`).
 */
export interface DuplicateFile {
  key: string;
  day: string;
  rows: number;
}

/** A minute file with rows outside its day (New York or UTC): kept with their own time, counted here. */
export interface OutsideSessionFile {
  key: string;
  day: string;
  rows: number;
}

/** The outcome of a run: the fields of the CLI's `--json` output. */
export interface PreloadReport {
  /** The symbols as requested (upper-cased); empty for `all`. */
  symbols: string[];
  /** True for an `all` run (every row of every file). */
  all: boolean;
  /** `all`: the distinct tickers of the rows this process stored. */
  tickers: number;
  /** The dataset prefix(es) read, comma-separated when symbols span several. */
  dataset: string;
  /** The bar interval asked for (`1d`, or an intraday one built from stored 1m bars). */
  interval: Interval;
  start: string;
  end: string;
  /** This process's files. */
  files: {
    listed: number;
    downloaded: number;
    /** Already done in an earlier run (or by another process on a shared store): not downloaded. */
    skipped: number;
    failed: number;
  };
  /** Verified bytes this process downloaded. */
  bytes: number;
  /**
   * Bars this process stored: each file's distinct (ticker, time) rows, its day replacing what
   * the store held of it. A misdated day file's rows count under the file's day, so for day bars
   * this is what a read of the window returns of them; minute rows outside their file's day
   * (`outsideSession`) may land on a time another file also holds, and a read returns one of the two.
   */
  bars: number;
  /** Time range of the bars held in the store for the run's window, or null if none. */
  barRange: { first: string; last: string } | null;
  elapsedMs: number;
  failures: Failure[];
  retries: number;
  /** Answers in which the server throttled this run (503 SlowDown, 429); each was retried, or is in a failure. */
  throttled: number;
  /** Files read from the raw mirror (--keep-raw) instead of downloaded; counted in `files.downloaded`. */
  fromRawMirror: number;
  /** Things worth knowing about the run, e.g. what --offline could not see. */
  notes: string[];
  /** Files done earlier that the provider has since replaced (new ETag): downloaded again, their days replaced. */
  republished: number;
  /** Rows of the requested symbols that could not be parsed. */
  malformedRows: number;
  /** Repeated rows for the same bar inside one file (the last one wins). */
  duplicateRows: number;
  /** Files whose repeated rows of one ticker and time had different values: the last kept, the others dropped. Present only when there are some. */
  duplicateFiles?: DuplicateFile[];
  /** Day files whose rows claimed another date, re-stamped with the file's day. Present only when there are some. */
  misdatedFiles?: MisdatedFile[];
  /** Minute files with rows outside their day: counted and kept, not moved. Present only when there are some. */
  outsideSession?: OutsideSessionFile[];
  /** A shared store only: the whole job (every process) and the processes that took part. */
  job?: JobReport;
  /**
   * Symbols (as requested) of which no file of their window had a row, and of which the store
   * holds no bar for the window (from an earlier run either): a typo, or a ticker not traded
   * then. Present only when there are some, and only after a complete run (listed to the end,
   * no failed file): a failed file may have held the rows. Not for `all`.
   */
  unmatchedSymbols?: string[];
  /** With `unmatchedSymbols`: how many files the window of each of them has. */
  unmatchedWindowFiles?: Record<string, number>;
  /** A dry run (`dryRun`): listed and planned only, nothing downloaded or recorded. */
  dryRun?: true;
  /** A dry run: what a run would download now (files not done, or republished), in all and per job. */
  wouldDownload?: { files: number; bytes: number; jobs: DryRunJob[] };
}

/** One job of a dry run: its window's files, those already done, and what a run would download. */
export interface DryRunJob {
  /** The symbols as requested; empty for `all`. */
  symbols: string[];
  all: boolean;
  dataset: string;
  start: string;
  end: string;
  /** Files of the window. */
  listed: number;
  /** Already done with the same ETag: a run skips them. */
  skipped: number;
  /** Files a run would download, and their bytes. */
  files: number;
  bytes: number;
}

/** The whole job on a shared store, across every process that worked on it. */
export interface JobReport extends JobCounts {
  /** This process's id among `processes`. */
  processId: number;
  processes: ProcessInfo[];
}

/** The counters a report is built from: what RunStats (stats.ts) collects. */
export interface RunTotals {
  readonly counts: Omit<ProgressEvent, 'type' | 'job'>;
  readonly failures: Failure[];
  readonly notes: string[];
  readonly fromMirror: number;
  readonly malformed: number;
  readonly duplicates: number;
  readonly misdated: readonly MisdatedFile[];
  readonly outsideSession: readonly OutsideSessionFile[];
  readonly duplicateFiles: readonly DuplicateFile[];
  /** The distinct tickers of the rows stored (only their count is reported). */
  readonly tickers: { readonly size: number };
}

export interface ReportInput {
  plans: readonly JobPlan[];
  /** The first day each job's listing started from. */
  starts: ReadonlyMap<JobPlan, string>;
  store: Pick<Store, 'barRange'>;
  stats: RunTotals;
  interval: Interval;
  /** When the run started (performance.now()). */
  started: number;
  job: JobReport | undefined;
  /** How many files each job's window has; with `complete`, symbols without a bar are named. */
  listedFiles?: ReadonlyMap<JobPlan, number>;
  /** The run listed to the end and was not stopped: whether symbols without a bar may be named. */
  complete?: boolean;
}

/** The report of a run from its counters and the bars the store now holds for its window. */
export async function buildReport(input: ReportInput): Promise<PreloadReport> {
  const { plans, starts, stats } = input;
  const c = stats.counts;
  const start = plans.map((p) => starts.get(p) ?? p.start ?? p.end).sort()[0] ?? '';
  const end = plans.map((p) => p.end).sort().at(-1) ?? '';
  let first: number | undefined;
  let last: number | undefined;
  // An `all` run's range would be a scan of the whole market's bars: its summary counts rows and tickers instead.
  for (const plan of plans.filter((p) => !p.all)) {
    const tickers = plan.symbols.map((s) => s.ticker);
    const range = await input.store.barRange(tickers, plan.interval, starts.get(plan) ?? start, plan.end);
    if (range && (first === undefined || range.first < first)) first = range.first;
    if (range && (last === undefined || range.last > last)) last = range.last;
  }
  const unmatched = await unmatchedSymbols(input);
  return {
    symbols: plans.filter((p) => !p.all).flatMap((p) => p.symbols.map((s) => s.symbol)),
    all: plans.some((p) => p.all),
    tickers: stats.tickers.size,
    dataset: plans.map((p) => p.dataset).join(','),
    interval: input.interval,
    start,
    end,
    files: { listed: c.listed, downloaded: c.downloaded, skipped: c.skipped, failed: c.failed },
    bytes: c.bytes,
    bars: c.bars,
    barRange: first === undefined || last === undefined ? null : { first: new Date(first).toISOString(), last: new Date(last).toISOString() },
    elapsedMs: Math.round(performance.now() - input.started),
    failures: stats.failures,
    retries: c.retries,
    throttled: c.throttled,
    republished: c.republished,
    fromRawMirror: stats.fromMirror,
    notes: stats.notes,
    malformedRows: stats.malformed,
    duplicateRows: stats.duplicates,
    ...(stats.duplicateFiles.length > 0 ? { duplicateFiles: sortByKey(stats.duplicateFiles) } : {}),
    ...(stats.misdated.length > 0 ? { misdatedFiles: sortByKey(stats.misdated) } : {}),
    ...(stats.outsideSession.length > 0 ? { outsideSession: sortByKey(stats.outsideSession) } : {}),
    ...(input.job ? { job: input.job } : {}),
    ...(unmatched.size > 0 ? { unmatchedSymbols: [...unmatched.keys()], unmatchedWindowFiles: Object.fromEntries(unmatched) } : {}),
  };
}

/** By key, in the order files finished (they finish in any order); a key's entries keep their order. */
function sortByKey<T extends { key: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The symbols of which the store holds no bar in their job's window once a complete run is over:
 * what it held before (an earlier run of the job, another job) plus what this run stored. Each
 * with how many files its window has.
 */
async function unmatchedSymbols(input: ReportInput): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const c = input.stats.counts;
  // A failed file (this process's or another's) may have held the rows: nothing can be said.
  if (input.complete !== true || c.failed > 0 || (input.job?.failed ?? 0) > 0) return out;
  for (const plan of input.plans) {
    const files = input.listedFiles?.get(plan) ?? 0;
    if (plan.all || files === 0) continue;
    const start = input.starts.get(plan) ?? plan.start ?? plan.end;
    for (const s of plan.symbols) {
      if ((await input.store.barRange([s.ticker], plan.interval, start, plan.end)) === undefined) out.set(s.symbol, files);
    }
  }
  return out;
}
