// A file's rows in PostgreSQL's COPY binary format, written by hand: the format is a fixed header,
// then per row a field count and each field as a length and its bytes (big-endian int8, float8,
// UTF-8 text; length -1 for NULL). For our fixed columns that is a few lines, and the server
// skips the text parsing of ~10 numbers a row: bench/stores/pg-bulk.ts measures the difference
// (README, "PostgreSQL bulk layout"). No package of the registry writes it from typed arrays.
import type { RowColumns } from '../../types.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Each chunk yielded is at least this large (the last excepted): fewer, larger writes to the socket. */
const CHUNK_BYTES = 256 * 1024;
const TWO_32 = 4_294_967_296;

/** Which columns each tuple holds, in the order of the COPY's column list. */
export interface BinaryLayout {
  /** Leading text fields, the same on every row (`interval`, `day`), after the optional `seq`. */
  constants?: readonly string[];
  /** A leading int8 `seq` (the row's index plus `seqBase`): which of two rows of one key came last. */
  seqBase?: number;
}

/**
 * The rows `indexes` (all of them when undefined) of `cols` as COPY binary, in chunks: fields
 * [seq], symbol, [constants...], time, open, high, low, close, volume, transactions (NULL when NaN).
 * With `header`/`trailer` false the chunks continue a stream begun elsewhere (a sink's writes are
 * separate COPYs, so each gets both).
 * @throws {RangeError} a time or a transactions count that is not an integer.
 */
export function* binaryTuples(cols: RowColumns, layout: BinaryLayout, indexes?: Uint32Array): Generator<Buffer> {
  const constants = (layout.constants ?? []).map((s) => Buffer.from(s, 'utf8'));
  const seq = layout.seqBase !== undefined;
  const seqBase = layout.seqBase ?? 0;
  const fields = (seq ? 1 : 0) + 1 + constants.length + 7;
  const fixed = 2 + (seq ? 12 : 0) + 4 + constants.reduce((n, b) => n + 4 + b.length, 0) + 7 * 12;
  // A DataView's setters are inlined by V8: several times cheaper per field than Buffer's
  // writeInt32BE/writeDoubleBE, and this runs ~10 times a row on the main thread.
  let buf = Buffer.allocUnsafe(CHUNK_BYTES + 4096);
  let view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  SIGNATURE.copy(buf, 0);
  view.setInt32(11, 0); // flags
  view.setInt32(15, 0); // header extension length
  let at = 19;
  const { ticker: tickers, time, open, high, low, close, volume, transactions } = cols;
  const n = indexes?.length ?? cols.length;
  for (let k = 0; k < n; k++) {
    const i = indexes === undefined ? k : (indexes[k] as number);
    const ticker = tickers[i] as string;
    // A ticker takes at most 3 bytes of UTF-8 per UTF-16 unit: room is checked for that.
    const need = fixed + 3 * ticker.length;
    if (at + need > buf.length) {
      yield buf.subarray(0, at);
      buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, need) + 4096);
      view = new DataView(buf.buffer, buf.byteOffset, buf.length);
      at = 0;
    }
    view.setInt16(at, fields);
    at += 2;
    if (seq) at = int8(view, at, seqBase + i);
    // Written in place, then its length before it.
    const len = buf.write(ticker, at + 4, 'utf8');
    view.setInt32(at, len);
    at += 4 + len;
    for (const c of constants) {
      view.setInt32(at, c.length);
      at += 4 + c.copy(buf, at + 4);
    }
    at = int8(view, at, time[i] as number);
    at = float8(view, at, open[i] as number);
    at = float8(view, at, high[i] as number);
    at = float8(view, at, low[i] as number);
    at = float8(view, at, close[i] as number);
    at = float8(view, at, volume[i] as number);
    const trades = transactions[i] as number;
    if (Number.isNaN(trades)) {
      view.setInt32(at, -1);
      at += 4;
    } else at = int8(view, at, trades);
    if (at >= CHUNK_BYTES) {
      yield buf.subarray(0, at);
      buf = Buffer.allocUnsafe(CHUNK_BYTES + 4096);
      view = new DataView(buf.buffer, buf.byteOffset, buf.length);
      at = 0;
    }
  }
  if (at + 2 > buf.length) {
    yield buf.subarray(0, at);
    buf = Buffer.allocUnsafe(2);
    view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    at = 0;
  }
  view.setInt16(at, -1); // trailer
  yield buf.subarray(0, at + 2);
}

/** An int8 field: its length, then the value as two 32-bit halves (exact for any safe integer). */
function int8(view: DataView, at: number, v: number): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`Expected an integer for a bigint column, got ${v}`);
  const hi = Math.floor(v / TWO_32);
  view.setInt32(at, 8);
  view.setInt32(at + 4, hi);
  view.setUint32(at + 8, v - hi * TWO_32);
  return at + 12;
}

function float8(view: DataView, at: number, v: number): number {
  view.setInt32(at, 8);
  view.setFloat64(at + 4, v);
  return at + 12;
}

/**
 * The rows of `cols` to store when a (ticker, time) may come twice (the last wins), or undefined
 * when every key is unique. A whole-market file is sorted by ticker and then time, so one pass
 * that finds the keys strictly increasing settles it without building a set.
 */
export function lastOfEachKey(cols: RowColumns): Uint32Array | undefined {
  let sorted = true;
  for (let i = 1; i < cols.length && sorted; i++) {
    const a = cols.ticker[i - 1] as string;
    const b = cols.ticker[i] as string;
    sorted = a < b || (a === b && (cols.time[i - 1] as number) < (cols.time[i] as number));
  }
  if (sorted) return undefined;
  const last = new Map<string, number>();
  for (let i = 0; i < cols.length; i++) last.set(`${cols.ticker[i] as string}\n${cols.time[i] as number}`, i);
  return Uint32Array.from([...last.values()].sort((x, y) => x - y));
}
