import type { ParsedRow } from '../types.js';
import { FileCalendar, type CalendarCounts, type FileKind } from './calendar.js';
import { DuplicateLog, type DuplicateConflicts } from './duplicates.js';
import { Inflater } from './inflate.js';

/** One aggregate row of a requested ticker, as it goes into the cache. */
export interface ExtractResult extends CalendarCounts {
  rows: ParsedRow[];
  /** Rows of requested tickers that could not be parsed (missing fields, bad numbers). */
  malformed: number;
  /** Rows that repeated a (ticker, window_start) already seen in the file; the last one wins. */
  duplicates: number;
  /** Of those, the rows dropped whose values differ from the one kept (duplicates.ts). */
  duplicateConflicts?: DuplicateConflicts | undefined;
}

export class ParseError extends Error {
  readonly code = 'ERR_PARSE';
}

const REQUIRED = ['ticker', 'open', 'close', 'high', 'low', 'window_start'] as const;
const NEWLINE = 0x0a;

/**
 * Inflates a day file (whole, or as the chunks it arrived in) and extracts the rows of `tickers`;
 * columns are found by header name. Inflating is the largest CPU cost of a run, and files are
 * sorted by ticker: with `earlyStop` (allowed once the MD5 has vouched for every compressed byte,
 * so gzip's own CRC at the end is not needed) only the share of the file that held the last wanted
 * ticker in the previous file, plus a margin, is inflated, in one synchronous pass; if that falls
 * short, the whole file is. Synchronous calls beat a streamed inflate here (measured: its chunks,
 * copies and garbage cost more than the tail it skips). Large files go through RowFilter instead.
 */
export function extractTickers(
  gz: Uint8Array | readonly Uint8Array[],
  tickers: readonly string[],
  opts: { earlyStop: boolean; day?: string; kind?: FileKind },
): ExtractResult {
  const chunks = gz instanceof Uint8Array ? [gz] : gz;
  const size = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  if (size === 0) throw new ParseError('empty file');
  try {
    if (!opts.earlyStop) return parseRows(inflater.inflate(chunks), tickers, opts.day, undefined, opts.kind);
    // Sorted by ticker, as early stop already assumes: the scan may start a little before where
    // the wanted rows began in the previous file instead of at the top.
    const from = wantedFrom === undefined ? undefined : Math.floor(wantedFrom * HINT_BACKOFF);
    const r = parseRows(inflateNeeded(chunks, size, tickers), tickers, opts.day, from, opts.kind);
    if (r.firstAt !== undefined) wantedFrom = r.firstAt;
    return r;
  } catch (cause) {
    if (cause instanceof ParseError) throw cause;
    throw new ParseError(`not a valid gzip file (${(cause as Error).message})`, { cause });
  }
}

/** One per thread: its handle and output buffer serve every file (see inflate.ts). */
const inflater = new Inflater();
/**
 * Byte offset of the first wanted row in the previous file. Searching the ~500 KB above it for
 * `\nTSLA,` cost 0.17 ms of CPU a file, 0.03 ms when started from 90% of that offset (measured on
 * the benchmark's files): day files are alike, and a hint too late is detected and ignored.
 */
let wantedFrom: number | undefined;
const HINT_BACKOFF = 0.9;
/** Share of the previous file needed to reach past the last wanted ticker (per thread: day files are alike). */
let neededShare: number | undefined;
const SHARE_MARGIN = 0.02;

function inflateNeeded(chunks: readonly Uint8Array[], size: number, tickers: readonly string[]): Buffer {
  const last = [...tickers].sort().at(-1) ?? '';
  if (neededShare !== undefined && neededShare + SHARE_MARGIN < 1) {
    const part = inflater.inflate(chunks, Math.ceil(size * (neededShare + SHARE_MARGIN)));
    if (isPast(part, last)) return part;
  }
  const full = inflater.inflate(chunks);
  neededShare = shareNeeded(full, tickers);
  return full;
}

/** True when the text has a complete line for a ticker after `last` (ticker first, sorted). */
function isPast(csv: Buffer, last: string): boolean {
  if (!csv.subarray(0, 7).equals(Buffer.from('ticker,'))) return false;
  const end = csv.lastIndexOf(NEWLINE);
  const start = csv.lastIndexOf(NEWLINE, end - 1);
  if (start <= 0) return false;
  const comma = csv.indexOf(0x2c, start + 1);
  return comma !== -1 && comma < end && csv.toString('latin1', start + 1, comma) > last;
}

/** Where the wanted tickers' rows end, as a share of the file; undefined when none is there. */
function shareNeeded(csv: Buffer, tickers: readonly string[]): number | undefined {
  let end = -1;
  for (const t of tickers) {
    const at = csv.lastIndexOf(Buffer.from(`\n${t},`, 'latin1'));
    if (at !== -1) end = Math.max(end, csv.indexOf(NEWLINE, at + 1));
  }
  return end === -1 ? neededShare : end / csv.length;
}

/**
 * Parses the CSV text of a day file, keeping only `tickers`. Exported for table-driven tests.
 * `from`, for a file sorted by ticker: a byte offset the search may start at, used only if the
 * line there has a ticker before every wanted one (otherwise the search starts at the top).
 * `kind`: the file's calendar applies (calendar.ts): a day file's rows are stamped with its day,
 * a minute file's rows outside its day are counted. Without it, a row more than 36 h from `day`
 * is malformed.
 */
export function parseRows(
  csv: Buffer,
  tickers: readonly string[],
  day?: string,
  from?: number,
  kind?: FileKind,
): ExtractResult & { firstAt?: number } {
  const headerEnd = csv.indexOf(NEWLINE);
  const headerLine = csv.toString('latin1', 0, headerEnd === -1 ? csv.length : headerEnd).trim();
  const header = headerLine.split(',').map((h) => h.trim());
  const col = (name: string): number => header.indexOf(name);
  for (const name of REQUIRED) {
    if (col(name) === -1) throw new ParseError(`missing column "${name}" in header "${headerLine.slice(0, 120)}"`);
  }
  const idx = {
    ticker: col('ticker'),
    open: col('open'),
    high: col('high'),
    low: col('low'),
    close: col('close'),
    windowStart: col('window_start'),
    volume: col('volume'),
    transactions: col('transactions'),
  };
  const wanted = new Set(tickers);
  const lines: string[] = [];
  let firstAt: number | undefined;
  if (idx.ticker === 0) {
    // Fast path: find each ticker's lines with Buffer.indexOf instead of decoding the whole file.
    const start = searchStart(csv, headerEnd, from, [...wanted].sort()[0] ?? '');
    for (const t of wanted) {
      const needle = Buffer.from(`\n${t},`, 'latin1');
      for (let at = csv.indexOf(needle, start); at !== -1; at = csv.indexOf(needle, at + 1)) {
        firstAt = Math.min(firstAt ?? at, at);
        const end = csv.indexOf(NEWLINE, at + 1);
        lines.push(csv.toString('latin1', at + 1, end === -1 ? csv.length : end));
      }
    }
  } else {
    for (const line of csv.toString('latin1', headerEnd + 1).split('\n')) {
      const t = line.split(',', idx.ticker + 1)[idx.ticker];
      if (t !== undefined && wanted.has(t)) lines.push(line);
    }
  }

  const dayMs = day === undefined || kind !== undefined ? undefined : Date.parse(`${day}T00:00:00Z`);
  const calendar = kind === undefined ? undefined : new FileCalendar(day, kind);
  const byKey = new Map<string, ParsedRow>();
  // The earlier rows of each repeated key, in file order (a Map only once a key repeats).
  let repeats: Map<string, ParsedRow[]> | undefined;
  let malformed = 0;
  let duplicates = 0;
  for (const line of lines) {
    const row = parseLine(line.replace(/\r$/, '').split(','), idx);
    // A day bar starts at midnight New York (04:00Z/05:00Z) or UTC: never more than a day off.
    if (row === undefined || (dayMs !== undefined && Math.abs(row.time - dayMs) > 36 * 3_600_000)) {
      malformed += 1;
      continue;
    }
    if (calendar) row.time = calendar.stamp(row.time);
    const key = `${row.ticker}\u0000${row.time}`;
    const earlier = byKey.get(key);
    if (earlier !== undefined) {
      duplicates += 1;
      repeats ??= new Map();
      const dropped = repeats.get(key);
      if (dropped) dropped.push(earlier);
      else repeats.set(key, [earlier]);
    }
    byKey.set(key, row);
  }
  const duplicateConflicts = repeats && settle(byKey, repeats);
  return {
    rows: [...byKey.values()],
    malformed,
    duplicates,
    ...(duplicateConflicts ? { duplicateConflicts } : {}),
    ...calendar?.counts(),
    ...(firstAt === undefined ? {} : { firstAt }),
  };
}

/** Each repeated key's dropped rows against the row kept (the last). */
function settle(byKey: ReadonlyMap<string, ParsedRow>, repeats: ReadonlyMap<string, ParsedRow[]>): DuplicateConflicts | undefined {
  const log = new DuplicateLog();
  for (const [key, dropped] of repeats) {
    const kept = byKey.get(key) as ParsedRow;
    log.settle(kept.ticker, kept.time, kept, dropped);
  }
  return log.conflicts();
}

/** Where to start looking for `\n<ticker>,`: the '\n' before `from` if its line sorts before `first`, else the top. */
function searchStart(csv: Buffer, headerEnd: number, from: number | undefined, first: string): number {
  if (from === undefined || headerEnd === -1 || from <= headerEnd || from >= csv.length) return 0;
  const nl = csv.lastIndexOf(NEWLINE, from);
  const comma = csv.indexOf(0x2c, nl + 1);
  if (nl <= headerEnd || comma === -1 || csv.toString('latin1', nl + 1, comma) >= first) return 0;
  return nl;
}

const INT_RE = /^\d{1,19}$/;

function parseLine(
  f: string[],
  idx: Record<'ticker' | 'open' | 'high' | 'low' | 'close' | 'windowStart' | 'volume' | 'transactions', number>,
): ParsedRow | undefined {
  const ws = f[idx.windowStart];
  const ticker = f[idx.ticker];
  if (ticker === undefined || ws === undefined || !INT_RE.test(ws)) return undefined;
  const num = (i: number): number | undefined => {
    const s = f[i];
    if (s === undefined || s === '') return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  };
  const open = num(idx.open);
  const high = num(idx.high);
  const low = num(idx.low);
  const close = num(idx.close);
  if (open === undefined || high === undefined || low === undefined || close === undefined) return undefined;
  // Indices have no volume or transactions columns: volume 0, transactions null.
  const volume = idx.volume === -1 ? 0 : num(idx.volume);
  if (volume === undefined) return undefined;
  const tx = idx.transactions === -1 ? null : (num(idx.transactions) ?? null);
  return {
    ticker,
    // window_start is nanoseconds beyond 2^53: divide as BigInt, then the ms fit a double exactly.
    time: Number(BigInt(ws) / 1_000_000n),
    open,
    high,
    low,
    close,
    volume,
    transactions: tx,
  };
}

/**
 * The streaming form of `extractTickers` for files too large to hold (minute aggregates): feed it
 * inflated chunks; it keeps only the lines of the wanted tickers and a partial line. `done` turns
 * true once the (ticker-sorted) file is past the last wanted ticker, so inflating can stop.
 */
export class RowFilter {
  readonly #tickers: readonly string[];
  readonly #needles: Buffer[];
  readonly #last: string;
  #header: string | undefined;
  #tickerCol = -1;
  // Always starts at a line start, preceded by '\n', so every line is found as '\n<ticker>,'.
  #carry = Buffer.from('\n');
  readonly #lines: string[] = [];
  #prev = '';
  #sorted = true;
  done = false;

  constructor(tickers: readonly string[]) {
    this.#tickers = tickers;
    this.#needles = tickers.map((t) => Buffer.from(`\n${t},`, 'latin1'));
    this.#last = [...tickers].sort().at(-1) ?? '';
  }

  push(chunk: Buffer): void {
    let buf = Buffer.concat([this.#carry, chunk]);
    if (this.#header === undefined) {
      const nl = buf.indexOf(NEWLINE, 1);
      if (nl === -1) {
        this.#carry = buf;
        return;
      }
      this.#header = buf.toString('latin1', 1, nl).replace(/\r$/, '');
      this.#tickerCol = this.#header.split(',').map((h) => h.trim()).indexOf('ticker');
      buf = buf.subarray(nl);
    }
    const end = buf.lastIndexOf(NEWLINE);
    this.#scan(buf.subarray(0, end + 1));
    this.#carry = Buffer.from(buf.subarray(end));
  }

  /** Parses what was kept. Call once the stream has ended (or stopped after `done`). */
  finish(day?: string, kind?: FileKind): ExtractResult {
    if (this.#header === undefined) throw new ParseError('empty file');
    if (!this.done && this.#carry.length > 1) this.#scan(Buffer.concat([this.#carry, Buffer.from('\n')]));
    return parseRows(Buffer.from(`${this.#header}\n${this.#lines.join('\n')}\n`, 'latin1'), this.#tickers, day, undefined, kind);
  }

  /** `region` starts and ends with '\n': whole lines only. */
  #scan(region: Buffer): void {
    if (region.length < 2) return;
    if (this.#tickerCol !== 0) {
      for (const line of region.toString('latin1', 1, region.length - 1).split('\n')) {
        const t = line.split(',', this.#tickerCol + 1)[this.#tickerCol];
        if (t !== undefined && this.#tickers.includes(t)) this.#lines.push(line);
      }
      return;
    }
    for (const needle of this.#needles) {
      for (let at = region.indexOf(needle); at !== -1; at = region.indexOf(needle, at + 1)) {
        this.#lines.push(region.toString('latin1', at + 1, region.indexOf(NEWLINE, at + 1)));
      }
    }
    const lastStart = region.lastIndexOf(NEWLINE, region.length - 2);
    const comma = region.indexOf(0x2c, lastStart + 1);
    if (comma === -1) return;
    const t = region.toString('latin1', lastStart + 1, comma);
    if (t < this.#prev) this.#sorted = false; // out of order: never stop early
    this.#prev = t;
    if (this.#sorted && t > this.#last) this.done = true;
  }
}
