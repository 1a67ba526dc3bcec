// Every row of a day file, for `--all`: parsed straight into columns (RowColumns), never into one
// object per row. Hand-written over the CSV text rather than `line.split(',')` because this runs on
// every row of the whole market (13.8 million for 5y of daily files, tens of millions for a month
// of minutes): one pass over a latin1 string finds the commas, the numbers are read in place
// (`decimal`), and a ticker's string is cut once for its run of rows. Measured on ten of the
// bench's day files: 0.40 us a row, against 1.19 with a substring and Number() per field and a
// map per ticker.
import type { BarValues, RowColumns } from '../types.js';
import { FileCalendar, type CalendarCounts, type FileKind } from './calendar.js';
import { ParseError } from './day-file.js';
import { DuplicateLog, type DuplicateConflicts } from './duplicates.js';
import { Inflater } from './inflate.js';

const REQUIRED = ['ticker', 'open', 'close', 'high', 'low', 'window_start'] as const;
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const ZERO = 0x30;
const DOT = 0x2e;
const MINUS = 0x2d;
/** A day's bars start within 36 h of its midnight UTC (as day-file.ts checks for a symbol's rows). */
const DAY_SLACK_MS = 36 * 3_600_000;

/** What a file's rows came to, beside the columns. */
export interface AllRowsCounts extends CalendarCounts {
  rows: number;
  malformed: number;
  duplicates: number;
  /** Of the duplicates, the rows dropped whose values differ from the one kept (duplicates.ts). */
  duplicateConflicts?: DuplicateConflicts | undefined;
}

/** Growable columns; `take()` hands them over and starts afresh. */
class ColumnBuilder {
  #cap: number;
  #n = 0;
  #ticker: string[] = [];
  #cols: Float64Array[];

  constructor(capacity: number) {
    this.#cap = capacity;
    this.#cols = Array.from({ length: 7 }, () => new Float64Array(capacity));
  }

  get length(): number {
    return this.#n;
  }

  push(ticker: string, values: readonly number[]): void {
    if (this.#n === this.#cap) this.#grow();
    const i = this.#n++;
    this.#ticker.push(ticker);
    for (let c = 0; c < 7; c++) (this.#cols[c] as Float64Array)[i] = values[c] as number;
  }

  /** The times of rows `from`.. and their row numbers. */
  timesFrom(from: number): Map<number, number> {
    const times = new Map<number, number>();
    const time = this.#cols[0] as Float64Array;
    for (let i = from; i < this.#n; i++) times.set(time[i] as number, i);
    return times;
  }

  /** Row `i`'s values. */
  values(i: number): BarValues {
    const [, open, high, low, close, volume, transactions] = this.#cols.map((c) => c[i] as number) as [number, number, number, number, number, number, number];
    return { open, high, low, close, volume, transactions: Number.isNaN(transactions) ? null : transactions };
  }

  /** Overwrites row `i` (a repeated bar: the last one wins). */
  set(i: number, values: readonly number[]): void {
    for (let c = 0; c < 7; c++) (this.#cols[c] as Float64Array)[i] = values[c] as number;
  }

  /** Hands over the rows before `keepFrom` (all of them by default); the rest start the next chunk. */
  take(keepFrom = this.#n): RowColumns {
    const n = keepFrom;
    const total = this.#n;
    const fresh = Array.from({ length: 7 }, () => new Float64Array(this.#cap));
    if (total > n) this.#cols.forEach((c, k) => (fresh[k] as Float64Array).set(c.subarray(n, total)));
    const kept = total > n ? this.#ticker.slice(n) : [];
    const [time, open, high, low, close, volume, transactions] = this.#cols.map((c) => (n === this.#cap ? c : c.slice(0, n))) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const out: RowColumns = { length: n, ticker: total > n ? this.#ticker.slice(0, n) : this.#ticker, time, open, high, low, close, volume, transactions };
    this.#n = total - n;
    this.#ticker = kept;
    this.#cols = fresh;
    return out;
  }

  #grow(): void {
    this.#cap *= 2;
    this.#cols = this.#cols.map((c) => {
      const bigger = new Float64Array(this.#cap);
      bigger.set(c);
      return bigger;
    });
  }
}

/**
 * Parses the lines of one file as they come (whole lines, or inflated chunks through `push`).
 * With `chunkRows`, full chunks go to `onChunk` as they fill (the streaming path); `finish()`
 * returns what is left.
 */
export class AllRowsParser {
  readonly #day: number | undefined;
  readonly #calendar: FileCalendar | undefined;
  readonly #onChunk: ((chunk: RowColumns) => void) | undefined;
  readonly #chunkRows: number;
  #builder: ColumnBuilder;
  #header: { cols: number; ticker: number; idx: number[] } | undefined;
  #carry: Buffer | undefined;
  /** The current ticker, where its rows start in the chunk, and its latest time. */
  #runTicker = '';
  #runStart = 0;
  #lastTime = Number.NEGATIVE_INFINITY;
  /** The run's times and their rows, once the run went back in time (`#repeat`). */
  #run: Map<number, number> | undefined;
  /** The run's repeated times: the kept row's place, and the earlier rows dropped, in file order. */
  #pending: Map<number, { row: number; dropped: BarValues[] }> | undefined;
  readonly #duplicates = new DuplicateLog();
  readonly #values: number[] = [0, 0, 0, 0, 0, 0, 0];
  rows = 0;
  malformed = 0;
  duplicates = 0;

  /** `kind`: the file's calendar applies (see parseRows in day-file.ts); without it, rows 36 h off are malformed. */
  constructor(opts: { day?: string | undefined; kind?: FileKind; chunkRows?: number; onChunk?: (chunk: RowColumns) => void } = {}) {
    this.#calendar = opts.kind === undefined ? undefined : new FileCalendar(opts.day, opts.kind);
    this.#day = opts.day === undefined || this.#calendar ? undefined : Date.parse(`${opts.day}T00:00:00Z`);
    this.#onChunk = opts.onChunk;
    this.#chunkRows = opts.chunkRows ?? Number.POSITIVE_INFINITY;
    this.#builder = new ColumnBuilder(Number.isFinite(this.#chunkRows) ? this.#chunkRows : 16_384);
  }

  /** Inflated bytes in order; lines may be cut anywhere. */
  push(chunk: Buffer): void {
    const buf = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const end = buf.lastIndexOf(NEWLINE);
    if (end === -1) {
      this.#carry = Buffer.from(buf);
      return;
    }
    this.#lines(buf.toString('latin1', 0, end));
    // A copy: `chunk` may be a view of a buffer its producer reuses.
    this.#carry = end + 1 < buf.length ? Buffer.from(buf.subarray(end + 1)) : undefined;
  }

  /** The rows not yet handed to `onChunk`, and the file's counts. Throws ParseError on a file with no header. */
  finish(): { columns: RowColumns; counts: AllRowsCounts } {
    if (this.#carry) this.#lines(this.#carry.toString('latin1'));
    this.#carry = undefined;
    if (this.#header === undefined) throw new ParseError('empty file');
    this.#settle();
    const duplicateConflicts = this.#duplicates.conflicts();
    return {
      columns: this.#builder.take(),
      counts: { rows: this.rows, malformed: this.malformed, duplicates: this.duplicates, ...(duplicateConflicts ? { duplicateConflicts } : {}), ...this.#calendar?.counts() },
    };
  }

  /** Whole lines, '\n'-separated (the last one may lack its '\n'). */
  #lines(text: string): void {
    let at = 0;
    if (this.#header === undefined) {
      const nl = text.indexOf('\n');
      const line = (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '');
      this.#header = parseHeader(line);
      if (nl === -1) return;
      at = nl + 1;
    }
    const { cols, ticker: tickerCol, idx } = this.#header;
    const starts = new Int32Array(cols + 1);
    const len = text.length;
    while (at < len) {
      let nl = text.indexOf('\n', at);
      if (nl === -1) nl = len;
      let end = nl;
      if (end > at && text.charCodeAt(end - 1) === 13) end -= 1;
      if (end > at) this.#line(text, at, end, starts, cols, tickerCol, idx);
      at = nl + 1;
    }
  }

  #line(text: string, from: number, end: number, starts: Int32Array, cols: number, tickerCol: number, idx: number[]): void {
    // starts[c] = first char of field c; starts[cols] = one past the line's end (+1).
    starts[0] = from;
    let c = 1;
    for (let p = from; p < end && c < cols; p++) if (text.charCodeAt(p) === COMMA) starts[c++] = p + 1;
    if (c < cols) {
      this.malformed += 1;
      return;
    }
    starts[cols] = end + 1;
    const t0 = starts[tickerCol] as number;
    const t1 = (starts[tickerCol + 1] as number) - 1;
    let time = nanosToMs(text, starts[idx[0] as number] as number, (starts[(idx[0] as number) + 1] as number) - 1);
    if (t1 === t0 || Number.isNaN(time)) {
      this.malformed += 1;
      return;
    }
    if (this.#day !== undefined && Math.abs(time - this.#day) > DAY_SLACK_MS) {
      this.malformed += 1;
      return;
    }
    if (this.#calendar) time = this.#calendar.stamp(time);
    const v = this.#values;
    v[0] = time;
    for (let k = 1; k <= 6; k++) {
      const col = idx[k] as number;
      if (col === -1) {
        // Indices have no volume or transactions: volume 0, transactions none.
        v[k] = k === 5 ? 0 : Number.NaN;
        continue;
      }
      const n = decimal(text, starts[col] as number, (starts[col + 1] as number) - 1);
      if (!Number.isFinite(n)) {
        if (k === 6) {
          v[k] = Number.NaN;
          continue;
        }
        this.malformed += 1;
        return;
      }
      v[k] = n;
    }
    // Only a row of a new ticker pays for its string: the run's rows share the first one's.
    if (t1 - t0 !== this.#runTicker.length || !text.startsWith(this.#runTicker, t0)) this.#startRun(text.slice(t0, t1));
    if (this.#repeat(time, v)) return;
    this.#builder.push(this.#runTicker, v);
    this.rows += 1;
    if (this.#builder.length >= this.#chunkRows) this.#handOver();
  }

  /**
   * A full chunk goes to `onChunk`, except the current ticker's run, which starts the next one: a
   * ticker's rows stay in one chunk, so a repeat is overwritten in place wherever the chunk ends
   * and `rows` counts what the store keeps. Only a run longer than a whole chunk (more than
   * `chunkRows` rows of one ticker in one file) is cut: a repeat after the cut is then appended,
   * and the stores' upserts keep the last one.
   */
  #handOver(): void {
    const start = this.#runStart;
    if (start === 0) {
      this.#settle();
      this.#onChunk?.(this.#builder.take());
      this.#restartRun();
      return;
    }
    this.#onChunk?.(this.#builder.take(start));
    this.#runStart = 0;
    // The run's rows moved to the front of the next chunk.
    if (this.#run) this.#run = this.#builder.timesFrom(0);
    for (const p of this.#pending?.values() ?? []) p.row -= start;
  }

  #startRun(ticker: string): void {
    this.#settle();
    this.#runTicker = ticker;
    this.#restartRun();
  }

  /** The current ticker's run starts afresh at the builder's next row. */
  #restartRun(): void {
    this.#runStart = this.#builder.length;
    this.#lastTime = Number.NEGATIVE_INFINITY;
    this.#run = undefined;
    this.#pending = undefined;
  }

  /** The current run's repeated times against the rows kept (the last of each): counted, the first few kept. */
  #settle(): void {
    if (this.#pending === undefined) return;
    for (const [time, p] of this.#pending) this.#duplicates.settle(this.#runTicker, time, this.#builder.values(p.row), p.dropped);
    this.#pending = undefined;
  }

  /**
   * Whether `time` repeats a bar of the current ticker in this chunk (it then overwrites that row).
   * Files list a ticker's bars in ascending time, so a map of the run's times is built only for
   * a run that goes back in time.
   */
  #repeat(time: number, v: readonly number[]): boolean {
    if (this.#run === undefined) {
      if (time > this.#lastTime) {
        this.#lastTime = time;
        return false;
      }
      this.#run = this.#builder.timesFrom(this.#runStart);
    }
    const seen = this.#run.get(time);
    if (seen !== undefined) {
      this.duplicates += 1;
      this.#pending ??= new Map();
      const p = this.#pending.get(time);
      if (p) p.dropped.push(this.#builder.values(seen));
      else this.#pending.set(time, { row: seen, dropped: [this.#builder.values(seen)] });
      this.#builder.set(seen, v);
      return true;
    }
    this.#run.set(time, this.#builder.length);
    return false;
  }
}

/** Exact powers of ten as doubles (10^22 is the last one). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * window_start (ns since the epoch, 7 to 19 digits) in ms: its last six digits dropped, the exact
 * division. NaN unless the field is all digits.
 */
function nanosToMs(text: string, from: number, to: number): number {
  const len = to - from;
  if (len < 7 || len > 19) return Number.NaN;
  let ms = 0;
  for (let p = from; p < to; p++) {
    const d = text.charCodeAt(p) - ZERO;
    if (d < 0 || d > 9) return Number.NaN;
    if (p < to - 6) ms = ms * 10 + d;
  }
  return ms;
}

/**
 * The number in text[from, to), as `Number(text.slice(from, to))` gives it ('' is NaN). Hand-written
 * because it runs on 6 fields of every row: `[-]digits[.digits]` with at most 15 digits is
 * worked out as an integer over a power of ten, both exact in a double, so the one rounded
 * division gives the correctly rounded value Number() gives; anything else goes to Number().
 */
export function decimal(text: string, from: number, to: number): number {
  if (from === to) return Number.NaN;
  let p = from;
  const negative = text.charCodeAt(p) === MINUS;
  if (negative) p++;
  let m = 0;
  let digits = 0;
  let scale = -1;
  for (; p < to; p++) {
    const ch = text.charCodeAt(p);
    const d = ch - ZERO;
    if (d >= 0 && d <= 9) {
      m = m * 10 + d;
      digits++;
    } else if (ch === DOT && scale === -1) {
      scale = p;
    } else {
      return Number(text.slice(from, to));
    }
  }
  // '-', '.', '-.' and '5.' (Number() reads the last as 5) are left to Number(); so is a mantissa past 2^53.
  if (digits === 0 || digits > 15 || scale === to - 1) return Number(text.slice(from, to));
  const value = scale === -1 ? m : m / (POW10[to - 1 - scale] as number);
  return negative ? -value : value;
}

/** Column positions: idx = [window_start, open, high, low, close, volume, transactions] (-1: absent). */
function parseHeader(line: string): { cols: number; ticker: number; idx: number[] } {
  const header = line.split(',').map((h) => h.trim());
  for (const name of REQUIRED) {
    if (!header.includes(name)) throw new ParseError(`missing column "${name}" in header "${line.slice(0, 120)}"`);
  }
  const at = (name: string): number => header.indexOf(name);
  return {
    cols: header.length,
    ticker: at('ticker'),
    idx: [at('window_start'), at('open'), at('high'), at('low'), at('close'), at('volume'), at('transactions')],
  };
}

/** Every row of a whole (inflated) day file, in columns. */
export function parseAllRows(csv: Buffer, day?: string, kind?: FileKind): { columns: RowColumns; counts: AllRowsCounts } {
  const parser = new AllRowsParser({ day, kind });
  parser.push(csv);
  return parser.finish();
}

/** One per thread, as day-file.ts keeps its own (see inflate.ts). */
const inflater = new Inflater();

/** Inflates a whole (verified) day file and parses every row into columns. */
export function extractAll(gz: readonly Uint8Array[], day?: string, kind?: FileKind): { columns: RowColumns; counts: AllRowsCounts } {
  if (gz.reduce((sum, c) => sum + c.byteLength, 0) === 0) throw new ParseError('empty file');
  let csv: Buffer;
  try {
    csv = inflater.inflate(gz);
  } catch (cause) {
    throw new ParseError(`not a valid gzip file (${(cause as Error).message})`, { cause });
  }
  return parseAllRows(csv, day, kind);
}
