// What `exportBars` takes, reports and emits. A leaf of the export folder: types only.
import type { ReadOptions } from '../read/read-bars.js';

export const EXPORT_FORMATS = ['parquet', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_PARTITIONS = ['year', 'symbol', 'none'] as const;
export type ExportPartition = (typeof EXPORT_PARTITIONS)[number];

/** The bars of one symbol have been read from the store (adjusted and aggregated). */
export interface ExportReadEvent {
  type: 'export-read';
  symbol: string;
  /** Bars read for it (0: the store has none in the window; it is left out). */
  rows: number;
  symbolsDone: number;
  symbolsTotal: number;
}

/** `--all` of stored bars as they are (day bars, minutes): a day file's rows read from the store's scan. */
export interface ExportScanEvent {
  type: 'export-scan';
  /** The day file, YYYY-MM-DD. */
  day: string;
  /** Rows of it taken (of the tickers exported). */
  rows: number;
  daysDone: number;
  daysTotal: number;
}

/** One file has been written into the staging directory (not yet in place). */
export interface ExportFileEvent {
  type: 'export-file';
  /** Path relative to `out`, with `/` separators, as it will be once in place. */
  path: string;
  rows: number;
  bytes: number;
  filesDone: number;
  filesTotal: number;
}

export type ExportEvent = ExportReadEvent | ExportScanEvent | ExportFileEvent;

/**
 * Options of `exportBars`: where the bars are and which window (as for `readBars`; with no
 * `period` or `start`, everything stored), and what to write where.
 */
export interface ExportOptions extends ReadOptions {
  /** The export directory. Created if missing; a non-empty directory that is not an earlier export is refused unless `force`. */
  out: string;
  /** @default 'parquet' (zstd) */
  format?: ExportFormat | undefined;
  /**
   * How files are split under `out/interval=<interval>/`: `year=YYYY/` (of the New York session
   * day), `symbol=<ticker>/` (percent-encoded), or one file. @default 'year'
   */
  partition?: ExportPartition | undefined;
  /** Write into a non-empty directory that is not an earlier export (its other content is kept). @default false */
  force?: boolean | undefined;
  /**
   * Memory the writer (DuckDB) may use, in MB; past it its table spills to a file in the staging
   * directory (at least 64: DuckDB's sort and Parquet writer need that much). @default 80
   */
  memoryLimitMb?: number | undefined;
  /** Stops the export; the previous export in `out` stays whole. */
  signal?: AbortSignal | undefined;
  /** Receives a read event per symbol and a file event per file written. */
  onProgress?: ((event: ExportEvent) => void) | undefined;
}

/** One file of an export, in place. */
export interface ExportedFile {
  /** Relative to `out`, `/` separators, e.g. `interval=1d/year=2024/part-0.parquet`. */
  path: string;
  rows: number;
  bytes: number;
}

/** What `exportBars` wrote. */
export interface ExportReport {
  out: string;
  format: ExportFormat;
  partition: ExportPartition;
  interval: string;
  adjust: string;
  /** Datasets the bars came from. */
  datasets: string[];
  /** First and last day of the window read (`start` undefined: from the first stored day). */
  start: string | undefined;
  end: string;
  /** Tickers exported (with at least one bar), sorted. */
  symbols: string[];
  /** Tickers asked for with no bars in the window: absent from the files. */
  empty: string[];
  /** `'all'` only: stored tickers that cannot be read as a symbol (characters the symbol check refuses), left out. */
  skipped: string[];
  files: ExportedFile[];
  rows: number;
  bytes: number;
  elapsedMs: number;
}
