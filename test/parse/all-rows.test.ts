import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AllRowsParser, decimal, extractAll, parseAllRows } from '../../src/parse/all-rows.js';
import { ParseError, parseRows } from '../../src/parse/day-file.js';
import type { ParsedRow, RowColumns } from '../../src/types.js';
import { fromColumns } from '../fixtures/columns.js';
import { seededInts } from '../fixtures/random.js';

const HEADER = 'ticker,volume,open,close,high,low,window_start,transactions';
const DAY = '2023-03-27';
const T0 = '1679889600000000000'; // 2023-03-27T04:00Z, in ns
const csv = (...lines: string[]): Buffer => Buffer.from(`${lines.join('\n')}\n`);

/** The columns as rows, transactions null where NaN: what the store is to hold. */
const rowsOf = fromColumns;

/** A day file of `n` tickers, sorted, some with several bars, in the provider's column order. */
function dayFile(n: number): Buffer {
  const lines = [HEADER];
  for (let t = 0; t < n; t++) {
    const ticker = `T${String(t).padStart(5, '0')}`;
    for (let m = 0; m < 1 + (t % 3); m++) {
      const ns = (BigInt(T0) + BigInt(m) * 60_000_000_000n + 1_999_999n).toString();
      lines.push(`${ticker},${t * 10 + m + 0.5},${t + 1.25},${t + 1.5},${t + 2},${t + 1},${ns},${t % 5 === 0 ? '' : t}`);
    }
  }
  return csv(...lines);
}

describe('parseAllRows', () => {
  it('reads every row the symbol parser reads, ticker by ticker (a second implementation)', () => {
    const file = dayFile(400);
    const { columns, counts } = parseAllRows(file, DAY);
    const tickers = [...new Set(columns.ticker)];
    expect(tickers).toHaveLength(400);
    const expected = parseRows(file, tickers, DAY).rows;
    const sort = (r: ParsedRow[]): ParsedRow[] => [...r].sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : a.time - b.time));
    expect(sort(rowsOf(columns))).toEqual(sort(expected));
    expect(counts).toEqual({ rows: expected.length, malformed: 0, duplicates: 0 });
  });

  it('gives the same rows whatever the chunks it is fed are cut at, in chunks of at most the size asked that never split a ticker', () => {
    const file = dayFile(300);
    const whole = rowsOf(parseAllRows(file, DAY).columns);
    const chunks: RowColumns[] = [];
    const parser = new AllRowsParser({ day: DAY, chunkRows: 97, onChunk: (c) => chunks.push(c) });
    // Cuts inside lines, inside the header and at line ends.
    for (let at = 0, step = 1; at < file.length; at += step, step = (step * 7 + 3) % 211) parser.push(file.subarray(at, Math.min(file.length, at + step)));
    const { columns } = parser.finish();
    // A ticker has 1 to 3 rows here: a chunk ends before the ticker that would overflow it.
    expect(chunks.every((c) => c.length <= 97 && c.length >= 95)).toBe(true);
    const all = [...chunks, columns];
    for (let i = 1; i < all.length; i++) expect(all[i]?.ticker[0]).not.toBe(all[i - 1]?.ticker.at(-1));
    expect(all.flatMap(rowsOf)).toEqual(whole);
  });

  it.each([
    { name: 'reordered columns are read by name', lines: ['window_start,close,ticker,low,high,open,transactions,volume', `${T0},2.5,TSLA,1,3,1.5,7,100`], rows: [{ ticker: 'TSLA', open: 1.5, close: 2.5, high: 3, low: 1, volume: 100, transactions: 7 }] },
    { name: 'an index file has no volume or transactions', lines: ['ticker,open,close,high,low,window_start', `I:SPX,1,2,3,0.5,${T0}`], rows: [{ ticker: 'I:SPX', volume: 0, transactions: null }] },
    { name: 'CRLF line endings', lines: [`${HEADER}\r`, `TSLA,1,1,1,1,1,${T0},7\r`], rows: [{ ticker: 'TSLA', transactions: 7 }] },
    { name: 'nanoseconds below a millisecond are dropped, not rounded', lines: [HEADER, 'TSLA,1,1,1,1,1,1679889600001999999,1'], rows: [{ time: 1679889600001 }] },
  ])('$name', ({ lines, rows }) => {
    const got = rowsOf(parseAllRows(csv(...lines), DAY).columns);
    expect(got).toHaveLength(rows.length);
    rows.forEach((r, i) => expect(got[i]).toMatchObject(r));
  });

  it('counts malformed rows and keeps the last of a repeated bar', () => {
    const file = csv(
      HEADER,
      `AAA,1,1,1,1,1,${T0},1`,
      `AAA,2,2,2,2,2,${T0},2`, // the same bar again: the last one wins
      `BBB,1,x,1,1,1,${T0},1`, // a bad price
      `CCC,1,1,1,1,1,12345,1`, // a window_start that is no time of this day
      'DDD,1,1', // too few fields
      `,1,1,1,1,1,${T0},1`, // no ticker
      `EEE,1,1,1,1,1,${T0},1`,
    );
    const { columns, counts } = parseAllRows(file, DAY);
    expect(rowsOf(columns).map((r) => [r.ticker, r.open])).toEqual([
      ['AAA', 2],
      ['EEE', 1],
    ]);
    expect(counts).toEqual({
      rows: 2,
      malformed: 4,
      duplicates: 1,
      duplicateConflicts: { rows: 1, examples: [{ ticker: 'AAA', time: Number(T0) / 1e6, before: bar(2), after: bar(1) }] },
    });
  });

  it('refuses a file without the columns it needs, and an empty or broken gzip', () => {
    expect(() => parseAllRows(csv('ticker,open,close', 'A,1,2'), DAY)).toThrow(ParseError);
    expect(() => extractAll([Buffer.alloc(0)], DAY)).toThrow(/empty file/);
    expect(() => extractAll([Buffer.from('not gzip at all')], DAY)).toThrow(/not a valid gzip file/);
    const gz = gzipSync(dayFile(5));
    expect(rowsOf(extractAll([gz.subarray(0, 10), gz.subarray(10)], DAY).columns)).toEqual(rowsOf(parseAllRows(dayFile(5), DAY).columns));
  });
});

describe('decimal', () => {
  const read = (s: string): number => decimal(`,${s},`, 1, 1 + s.length);

  it('reads every field as Number() does (its second source of truth), fast path or not', () => {
    const odd = ['', '-', '.', '-.', '5.', '.5', '-.5', '-0', '0', '007', '1e5', '1E-7', ' 5', '+5', '--5', '1.2.3', 'x', 'NaN', 'Infinity', '0x10', '1_0'];
    const rand = seededInts(7);
    const digits = (n: number): string => Array.from({ length: n }, () => String(rand(10))).join('');
    const generated = Array.from({ length: 20_000 }, () => {
      const int = digits(rand(12));
      const frac = rand(3) === 0 ? '' : `.${digits(1 + rand(12))}`;
      return `${rand(4) === 0 ? '-' : ''}${int}${frac}`;
    });
    for (const s of [...odd, ...generated, '123456789012345', '1234567890123456', '0.000000000000001', '99999999999999.9', '9007199254740993']) {
      expect(Object.is(read(s), Number(s === '' ? Number.NaN : s)), s).toBe(true);
    }
  });
});

describe('parseAllRows, a ticker whose bars go back in time', () => {
  it('keeps every distinct bar and the last of a repeat, wherever it is in the run', () => {
    const at = (m: number): string => (BigInt(T0) + BigInt(m) * 60_000_000_000n).toString();
    const file = csv(HEADER, `AAA,1,1,1,1,1,${at(2)},1`, `AAA,2,2,2,2,2,${at(1)},2`, `AAA,3,3,3,3,3,${at(3)},3`, `AAA,4,4,4,4,4,${at(2)},4`, `BBB,5,5,5,5,5,${at(2)},5`);
    const { columns, counts } = parseAllRows(file, DAY);
    expect(rowsOf(columns).map((r) => [r.ticker, r.open])).toEqual([
      ['AAA', 4],
      ['AAA', 2],
      ['AAA', 3],
      ['BBB', 5],
    ]);
    expect(counts).toEqual({
      rows: 4,
      malformed: 0,
      duplicates: 1,
      duplicateConflicts: { rows: 1, examples: [{ ticker: 'AAA', time: Number(at(2)) / 1e6, before: bar(4), after: bar(1) }] },
    });
  });
});

/** The values of a test row whose six numbers are all `n`. */
function bar(n: number): { open: number; high: number; low: number; close: number; volume: number; transactions: number } {
  return { open: n, high: n, low: n, close: n, volume: n, transactions: n };
}

describe('parseAllRows, rows of one ticker and time with different values (duplicates)', () => {
  const at = (m: number): string => (BigInt(T0) + BigInt(m) * 60_000_000_000n).toString();
  const ms = (m: number): number => Number(at(m)) / 1e6;

  it('keeps the last row of a key, and records each earlier row that differs from it (identical ones only counted)', () => {
    const file = csv(
      HEADER,
      `AAA,1,1,1,1,1,${at(0)},1`,
      `AAA,2,2,2,2,2,${at(0)},2`,
      `AAA,3,3,3,3,3,${at(0)},3`, // kept: two rows dropped, both different
      `BBB,5,5,5,5,5,${at(0)},5`,
      `BBB,5,5,5,5,5,${at(0)},5`, // identical: harmless
      `CCC,7,7,7,7,7,${at(0)},7`,
      `CCC,8,8,8,8,8,${at(0)},8`,
      `CCC,7,7,7,7,7,${at(0)},7`, // kept: the first row is identical to it, the second differs
    );
    const { columns, counts } = parseAllRows(file, DAY);
    expect(rowsOf(columns).map((r) => [r.ticker, r.open])).toEqual([
      ['AAA', 3],
      ['BBB', 5],
      ['CCC', 7],
    ]);
    expect(counts.duplicates).toBe(5);
    expect(counts.duplicateConflicts).toEqual({
      rows: 3,
      examples: [
        { ticker: 'AAA', time: ms(0), before: bar(3), after: bar(1) },
        { ticker: 'AAA', time: ms(0), before: bar(3), after: bar(2) },
        { ticker: 'CCC', time: ms(0), before: bar(7), after: bar(8) },
      ],
    });
    // The symbol parser (a second implementation) keeps the same rows and finds the same conflicts.
    const r = parseRows(file, ['AAA', 'BBB', 'CCC'], DAY);
    expect(r.rows.map((x) => [x.ticker, x.open])).toEqual(rowsOf(columns).map((x) => [x.ticker, x.open]));
    expect(r.duplicates).toBe(5);
    expect(r.duplicateConflicts).toEqual(counts.duplicateConflicts);
  });

  it('finds a repeat wherever the chunks end: rows counts what is kept, the same as one whole parse', () => {
    // 40 tickers of 5 bars, each with its second bar repeated (different values) at the run's end.
    const lines = [HEADER];
    for (let t = 0; t < 40; t++) {
      const ticker = `T${String(t).padStart(3, '0')}`;
      for (let m = 0; m < 5; m++) lines.push(`${ticker},${m},${m},${m},${m},${m},${at(m)},${m}`);
      lines.push(`${ticker},9,9,9,9,9,${at(1)},9`);
    }
    const file = csv(...lines);
    const whole = parseAllRows(file, DAY);
    expect(whole.counts.rows).toBe(200);
    expect(whole.counts.duplicateConflicts?.rows).toBe(40);
    for (const chunkRows of [7, 13, 64]) {
      const chunks: RowColumns[] = [];
      const parser = new AllRowsParser({ day: DAY, chunkRows, onChunk: (c) => chunks.push(c) });
      parser.push(file);
      const { columns, counts } = parser.finish();
      const rows = [...chunks, columns].flatMap(rowsOf);
      expect(rows, `chunks of ${chunkRows}`).toEqual(rowsOf(whole.columns));
      expect(counts).toEqual(whole.counts);
    }
    expect(whole.counts.duplicateConflicts?.examples).toHaveLength(10);
    expect(whole.counts.duplicateConflicts?.examples[0]).toEqual({ ticker: 'T000', time: ms(1), before: bar(9), after: bar(1) });
  });
});
