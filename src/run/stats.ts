// The counters of one run: what the library emits as progress events and returns as its report.
import type { ProgressEvent } from '../events.js';
import { TickerSet } from '../symbols.js';
import type { CalendarCounts } from '../parse/calendar.js';
import type { DuplicateConflicts } from '../parse/duplicates.js';
import type { FileNote } from '../store/types.js';
import type { DayFile } from '../types.js';
import type { DuplicateFile, Failure, MisdatedFile, OutsideSessionFile, RunTotals } from './report.js';

export type Counts = Omit<ProgressEvent, 'type' | 'job'>;

/** A completed download as the stats count it. */
export interface Downloaded {
  bytes: number;
  rows: number;
  malformed: number;
  duplicates: number;
  fromMirror: boolean;
}

export class RunStats implements RunTotals {
  readonly counts: Counts = {
    listed: 0,
    listingDone: false,
    skipped: 0,
    downloaded: 0,
    failed: 0,
    bytes: 0,
    bars: 0,
    retries: 0,
    throttled: 0,
    republished: 0,
    inFlightLimit: 0,
    inFlight: 0,
  };
  readonly failures: Failure[] = [];
  readonly notes: string[] = [];
  fromMirror = 0;
  malformed = 0;
  duplicates = 0;
  readonly misdated: MisdatedFile[] = [];
  readonly outsideSession: OutsideSessionFile[] = [];
  readonly duplicateFiles: DuplicateFile[] = [];
  /** `--all`: the distinct tickers of the rows stored this run. */
  readonly tickers = new TickerSet();

  /** A file's tickers (sorted, as the files are), walked along the file's before. */
  sawTickers(tickers: readonly string[]): void {
    this.tickers.addList(tickers);
  }

  downloaded(d: Downloaded): void {
    this.counts.downloaded += 1;
    if (d.fromMirror) this.fromMirror += 1;
    else this.counts.bytes += d.bytes;
    this.counts.bars += d.rows;
    this.malformed += d.malformed;
    this.duplicates += d.duplicates;
  }

  /**
   * What a file's calendar (parse/calendar.ts) and its repeated rows (parse/duplicates.ts) came to:
   * counted for the report, and the notes the store records with the file.
   */
  calendar(file: DayFile, c: CalendarCounts & { duplicateConflicts?: DuplicateConflicts | undefined }): FileNote[] {
    const notes: FileNote[] = [];
    const d = c.duplicateConflicts;
    if (d !== undefined && d.rows > 0) {
      this.duplicateFiles.push({ key: file.key, day: file.day, rows: d.rows });
      notes.push({ kind: 'duplicate', detail: { rows: d.rows, examples: d.examples } });
    }
    for (const m of c.misdated ?? []) {
      this.misdated.push({ key: file.key, day: file.day, rows: m.rows, claimedDate: m.claimedDate });
      notes.push({ kind: 'misdated', detail: { rows: m.rows, claimedDate: m.claimedDate } });
    }
    if (c.outsideSession !== undefined && c.outsideSession > 0) {
      this.outsideSession.push({ key: file.key, day: file.day, rows: c.outsideSession });
      notes.push({ kind: 'outside-session', detail: { rows: c.outsideSession } });
    }
    return notes;
  }

  failed(failure: Failure): void {
    this.counts.failed += 1;
    this.failures.push(failure);
  }
}
