// What `checkStore` takes, reports and emits. A leaf of the check folder: types and the named
// thresholds (docs/data-quality.md documents each), light to import for the CLI's declaration.
import type { BarValues } from '../store/types.js';
import type { Period } from '../options.js';

/** How bad a finding is: `error` and `warning` make the CLI exit with EXIT.findings, `info` does not. */
export type Severity = 'error' | 'warning' | 'info';

/** Every kind of finding, with its severity: stable names (kebab-case) a script may branch on. */
export const FINDING_KINDS = {
  /** A bar that cannot be: high below open, close or low; low above open or close; a price <= 0; volume < 0. */
  'impossible-bar': 'error',
  /** Rows of one ticker and time with different values inside one day file (a run kept one; recorded by the run). */
  'duplicate-rows': 'error',
  /** One ticker and time stored under two day files, with different values (a read returns one of them). */
  'duplicate-across-files': 'error',
  /** A day file whose rows claimed another day: stored under the file's day (the one repair; recorded by the run). */
  'misdated-file': 'error',
  /** A close-to-close move a split ratio explains, on a day with no stored split. */
  'split-missing': 'warning',
  /** A stored split whose execution date shows no such move in the prices. */
  'split-not-seen': 'warning',
  /** Two split rows of one ticker with the same ratio within SPLIT_REPEAT_DAYS days (the same date included). */
  'split-repeated': 'warning',
  /** The provider's historical_adjustment_factor disagrees with the product of the splits read. */
  'split-factor-mismatch': 'warning',
  /** A split row whose adjustment_type contradicts its ratio (a forward split with fewer shares, ...). */
  'split-type-mismatch': 'warning',
  /** A ticker absent for REUSE_ABSENT_DAYS trading days or more that comes back at a price far from where it left. */
  'ticker-reused': 'warning',
  /** A republished day file whose bars changed (recorded by the run: old against new). */
  'revised-bars': 'warning',
  /** Bars with volume 0. */
  'zero-volume': 'info',
  /** Days of the calendar (the days the store has files for) a ticker has no bar on, between its first and last bar. */
  'missing-days': 'info',
} as const satisfies Record<string, Severity>;

export type FindingKind = keyof typeof FINDING_KINDS;

/** The ticker of a finding about a whole file (every ticker in it): `misdated-file`, and notes without examples. */
export const EVERY_TICKER = '*';

/** One thing the store holds that looks wrong, with the values that made it a finding. */
export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** The ticker as stored, or `*` for a finding about a whole file. */
  ticker: string;
  /** The days it is about (YYYY-MM-DD, ascending): a bar's day, the two days of a move, a split's execution date, ... */
  dates: string[];
  /** One line for a human. */
  message: string;
  /** The values that made it a finding (bars, closes, ratios, split rows, file keys), as JSON. */
  evidence: Record<string, unknown>;
}

/** The bar values a finding shows. */
export type { BarValues };

/** `--all`: a day file's rows read from the store's scan. */
export interface CheckScanEvent {
  type: 'check-scan';
  /** The day file, YYYY-MM-DD. */
  day: string;
  rows: number;
  daysDone: number;
  daysTotal: number;
}

/** Named symbols: one symbol's bars read and checked. */
export interface CheckSymbolEvent {
  type: 'check-symbol';
  symbol: string;
  /** Bars read for it. */
  rows: number;
  symbolsDone: number;
  symbolsTotal: number;
}

export type CheckEvent = CheckScanEvent | CheckSymbolEvent;

/** Options of `checkStore`: which tickers, which window, which store. */
export interface CheckOptions {
  /** Symbols to check (as typed, like `readBars`); or `all`. */
  symbols?: readonly string[] | undefined;
  /** Every ticker the store holds for the interval, read in one pass along the store's day-major key. @default false */
  all?: boolean | undefined;
  /** The window, ending at `end`. @default everything stored (`max`) */
  period?: Period | undefined;
  /** First day (YYYY-MM-DD); instead of `period`. */
  start?: string | undefined;
  /** Last day (YYYY-MM-DD). @default today, UTC */
  end?: string | undefined;
  /** `1d` (day bars: every check), or an intraday interval: the stored 1m bars, bar and file checks only. @default '1d' */
  interval?: '1d' | '1m' | '5m' | '15m' | '30m' | '1h' | undefined;
  /** With symbols: read them as tickers of this dataset prefix. */
  dataset?: string | undefined;
  /** Directory of the SQLite cache. @default as `readBars` */
  cacheDir?: string | undefined;
  /** A PostgreSQL store URL instead of the SQLite cache. */
  store?: string | undefined;
  /** Stops the check. */
  signal?: AbortSignal | undefined;
  /** A scan event per day read (`all`), or a symbol event per symbol. */
  onProgress?: ((event: CheckEvent) => void) | undefined;
  /** The clock, for tests (the default `end`). @default now */
  now?: Date | undefined;
}

/** What `checkStore` found. */
export interface CheckReport {
  /** The store, safe to print (a path, or a URL with its password masked). */
  store: string;
  /** The stored interval read: `1d` or `1m`. */
  interval: '1d' | '1m';
  /** The window read (`start` undefined: from the first stored day). */
  start: string | undefined;
  end: string;
  /** Tickers with bars in the window, and the bars read. */
  tickers: number;
  bars: number;
  /** Days of the calendar in the window (the days the store has bars for; with symbols, their ingested days). */
  days: number;
  /** Every finding: by severity (error, warning, info), then kind, ticker and first date. */
  findings: Finding[];
  /** Findings per severity. */
  counts: Record<Severity, number>;
  /** Findings per kind (kinds with none are absent). */
  kinds: Partial<Record<FindingKind, number>>;
  elapsedMs: number;
}
