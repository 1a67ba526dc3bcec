// Scanned rows (Store.scanDays) turned into the writer's columns: the ticker as its id, the
// session day, prices and volume adjusted, in typed arrays that move between threads without a
// copy. Shared by the scan thread of a SQLite store (scan-thread.ts) and the main thread's scan of
// a PostgreSQL store (scan.ts).
import { factorFor, type Step } from '../read/adjust.js';
import { dayNumber, sessionDay } from '../market-time.js';
import type { ScanRow, StoredDayChunk } from '../store/types.js';
import type { BarColumns } from '../types.js';

/** One ticker to export: its id in the writer's table, and the adjustment of its rows. */
export interface ExportTarget {
  sid: number;
  steps: readonly Step[];
}

/** Rows in the writer's column order (duckdb.ts), prices and volume adjusted. */
export interface ColumnBatch extends BarColumns {
  n: number;
  sid: Int32Array;
  /** The session day (New York), days since 1970. */
  day: Int32Array;
  /** The day file a row came from, days since 1970. */
  src: Int32Array;
}


/** What a scan hands the writer, in order; `done` last. */
export type ScanMessage =
  | { type: 'batch'; batch: ColumnBatch }
  | { type: 'page'; day: string; taken: number; place: number; days: number }
  /** Every row of these years is in the batches before. */
  | { type: 'years'; years: string[] }
  | { type: 'done'; rows: Uint32Array; overlaps: boolean; years: string[]; late: string[] };

/**
 * The messages of a scan's pages through `builder`: the batches as they fill, a year handed over
 * (after the batch holding its last rows) once the scan is past it, a `page` after each page.
 * The same whether the scan runs in its own thread (scan-thread.ts) or on the main one (scan.ts).
 */
export async function* scanMessages(pages: AsyncIterable<StoredDayChunk>, builder: ColumnBuilder): AsyncGenerator<ScanMessage> {
  for await (const page of pages) {
    const closed = builder.closeYears(page.day);
    if (closed.length > 0) {
      const rest = builder.drain();
      if (rest !== undefined) yield { type: 'batch', batch: rest };
      yield { type: 'years', years: closed };
    }
    const { taken, full } = builder.take(page.day, page.rows);
    for (const batch of full) yield { type: 'batch', batch };
    yield { type: 'page', day: page.day, taken, place: page.place, days: page.days };
  }
  const last = builder.drain();
  if (last !== undefined) yield { type: 'batch', batch: last };
  yield { type: 'done', rows: builder.rows, overlaps: builder.overlaps, years: [...builder.years], late: [...builder.late] };
}

/** The typed arrays of a batch, in column order, for a transfer list. */
export function batchBuffers(b: ColumnBatch): ArrayBuffer[] {
  return [b.sid, b.time, b.day, b.open, b.high, b.low, b.close, b.volume, b.transactions, b.src].map((a) => a.buffer as ArrayBuffer);
}

/** Fills batches of `capacity` rows from scanned pages, keeping what the export reports. */
export class ColumnBuilder {
  readonly #targets: ReadonlyMap<string, ExportTarget>;
  readonly #capacity: number;
  #batch: ColumnBatch;
  /** Rows taken per ticker id. */
  readonly rows: Uint32Array;
  readonly #lastTime: Float64Array;
  /** True once a ticker had a time in two day files: the writer must keep the later file's row. */
  overlaps = false;
  /** The years (YYYY) of the session days taken. */
  readonly years = new Set<string>();
  /** Years closed (`closeYears`) that rows were taken for afterwards, or that have rows of overlapping files. */
  readonly late = new Set<string>();
  readonly #closed = new Set<string>();
  #dayOfTime = Number.NaN;
  #lastDay = '';
  #lastDayNumber = 0;

  constructor(targets: ReadonlyMap<string, ExportTarget>, sids: number, capacity: number) {
    this.#targets = targets;
    this.#capacity = capacity;
    this.#batch = newBatch(capacity);
    this.rows = new Uint32Array(sids);
    this.#lastTime = new Float64Array(sids).fill(Number.NEGATIVE_INFINITY);
  }

  /** Takes the rows of day file `day` whose tickers are targets; returns the batches filled on the way. */
  take(day: string, rows: readonly ScanRow[]): { taken: number; full: ColumnBatch[] } {
    const full: ColumnBatch[] = [];
    const src = dayNumber(day);
    let b = this.#batch;
    let taken = 0;
    let ticker = '';
    let target: ExportTarget | undefined;
    for (const r of rows) {
      // A day's rows come ticker by ticker: the lookup changes only with the ticker.
      if (r[0] !== ticker) {
        ticker = r[0];
        target = this.#targets.get(ticker);
      }
      if (target === undefined) continue;
      const id = target.sid;
      const time = r[1];
      const dayNum = this.#sessionDayNumber(time);
      if (time > (this.#lastTime[id] as number)) this.#lastTime[id] = time;
      else {
        this.overlaps = true;
        this.late.add(this.#lastDay.slice(0, 4));
      }
      let price = 1;
      let volume = 1;
      // #sessionDayNumber left the row's session day in #lastDay.
      if (target.steps.length > 0) ({ price, volume } = factorFor(target.steps, this.#lastDay));
      const i = b.n;
      b.sid[i] = id;
      b.time[i] = time;
      b.day[i] = dayNum;
      b.open[i] = r[2] * price;
      b.high[i] = r[3] * price;
      b.low[i] = r[4] * price;
      b.close[i] = r[5] * price;
      b.volume[i] = r[6] * volume;
      b.transactions[i] = r[7] === null ? Number.NaN : Math.round(r[7]);
      b.src[i] = src;
      this.rows[id] = (this.rows[id] as number) + 1;
      taken++;
      if (++b.n === this.#capacity) {
        full.push(b);
        b = this.#batch = newBatch(this.#capacity);
      }
    }
    return { taken, full };
  }

  /**
   * The years whose rows are all taken once the scan is at day file `day`: a day file holds
   * bars of its own day and at most the evening before (crypto's, stamped at midnight UTC), so a
   * year is complete two days into the next. A row of a closed year taken later (a file with bogus
   * times) puts its year in `late`.
   */
  closeYears(day: string): string[] {
    const closed = [...this.years].filter((y) => !this.#closed.has(y) && day >= `${Number(y) + 1}-01-03`).sort();
    for (const y of closed) this.#closed.add(y);
    // The next row's session day is worked out afresh, and checked against the closed years.
    if (closed.length > 0) this.#dayOfTime = Number.NaN;
    return closed;
  }

  /** The batch being filled, if it has rows; a fresh one takes its place. */
  drain(): ColumnBatch | undefined {
    const b = this.#batch;
    if (b.n === 0) return undefined;
    this.#batch = newBatch(this.#capacity);
    return b;
  }

  #sessionDayNumber(time: number): number {
    if (time !== this.#dayOfTime) {
      this.#dayOfTime = time;
      const day = sessionDay(time);
      if (day !== this.#lastDay) {
        this.#lastDay = day;
        this.#lastDayNumber = dayNumber(day);
        this.years.add(day.slice(0, 4));
      }
      if (this.#closed.has(day.slice(0, 4))) this.late.add(day.slice(0, 4));
    }
    return this.#lastDayNumber;
  }
}

function newBatch(n: number): ColumnBatch {
  return {
    n: 0,
    sid: new Int32Array(n),
    time: new Float64Array(n),
    day: new Int32Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    transactions: new Float64Array(n),
    src: new Int32Array(n),
  };
}
