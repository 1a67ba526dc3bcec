// The file is the calendar: a day file's rows go under its day whatever their window_start says,
// counted per date they claimed; minute rows outside the file's day are counted and kept. The
// expected stamps are written out as the provider's nanosecond integers, not computed by the code.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AllRowsParser, extractAll, parseAllRows } from '../../src/parse/all-rows.js';
import { FileCalendar, fileKind, newYorkMidnight } from '../../src/parse/calendar.js';
import { extractTickers, parseRows, RowFilter } from '../../src/parse/day-file.js';

const HEADER = 'ticker,volume,open,close,high,low,window_start,transactions';
const csv = (...lines: string[]): Buffer => Buffer.from(`${lines.join('\n')}\n`);
// The real us_stocks_sip/day_aggs_v1/2019/08/2019-08-12.csv.gz stamps 2019-08-13 on every row.
const AUG12 = 1565582400000; // 2019-08-12T04:00Z, midnight New York (EDT)
const AUG13_NS = '1565668800000000000';
const AUG12_NS = '1565582400000000000';
const DAY = '2019-08-12';

const misdatedFile = csv(
  HEADER,
  `AAPL,100,200.5,201,202,199,${AUG13_NS},10`,
  `MSFT,200,130.25,131,132,129,${AUG13_NS},20`,
  `TSLA,300,230,231,235,229,${AUG13_NS},30`,
);

describe('newYorkMidnight', () => {
  it.each([
    ['2019-08-12', AUG12], // EDT
    ['2024-01-02', Date.UTC(2024, 0, 2, 5)], // EST
    ['2024-03-10', Date.UTC(2024, 2, 10, 5)], // the spring switch happens at 02:00: midnight is still EST
    ['2024-11-03', Date.UTC(2024, 10, 3, 4)], // the autumn switch: midnight is still EDT
  ])('%s', (day, ms) => {
    expect(newYorkMidnight(day)).toBe(ms);
  });
});

describe('fileKind', () => {
  it('tells day and minute aggregates by their key', () => {
    expect(fileKind('us_stocks_sip/day_aggs_v1/2019/08/2019-08-12.csv.gz')).toBe('day');
    expect(fileKind('us_stocks_sip/minute_aggs_v1/2019/08/2019-08-12.csv.gz')).toBe('minute');
    expect(fileKind('us_stocks_sip/trades_v1/2019/08/2019-08-12.csv.gz')).toBeUndefined();
  });
});

describe('a day file whose rows claim another day', () => {
  it('parseRows (symbol runs): stored under the file day, counted per claimed date', () => {
    const r = parseRows(misdatedFile, ['TSLA', 'AAPL'], DAY, undefined, 'day');
    expect(r.rows.map((x) => [x.ticker, x.time, x.open]).sort()).toEqual([
      ['AAPL', AUG12, 200.5],
      ['TSLA', AUG12, 230],
    ]);
    expect(r.misdated).toEqual([{ claimedDate: '2019-08-13', rows: 2 }]);
    expect(r.malformed).toBe(0);
  });

  it('extractTickers and RowFilter take the file kind', () => {
    const gz = gzipSync(misdatedFile);
    for (const earlyStop of [false, true]) {
      const r = extractTickers(gz, ['MSFT'], { earlyStop, day: DAY, kind: 'day' });
      expect(r.rows.map((x) => x.time)).toEqual([AUG12]);
      expect(r.misdated).toEqual([{ claimedDate: '2019-08-13', rows: 1 }]);
    }
    const filter = new RowFilter(['AAPL', 'TSLA']);
    filter.push(misdatedFile);
    const f = filter.finish(DAY, 'day');
    expect(f.rows.map((x) => x.time)).toEqual([AUG12, AUG12]);
    expect(f.misdated).toEqual([{ claimedDate: '2019-08-13', rows: 2 }]);
  });

  it('parseAllRows and the chunked parser (--all): every row under the file day', () => {
    const { columns, counts } = parseAllRows(misdatedFile, DAY, 'day');
    expect([...columns.time]).toEqual([AUG12, AUG12, AUG12]);
    expect([...columns.open]).toEqual([200.5, 130.25, 230]);
    expect(counts).toEqual({ rows: 3, malformed: 0, duplicates: 0, misdated: [{ claimedDate: '2019-08-13', rows: 3 }] });
    const chunks: number[] = [];
    const parser = new AllRowsParser({ day: DAY, kind: 'day', chunkRows: 2, onChunk: (c) => chunks.push(...c.time) });
    parser.push(misdatedFile.subarray(0, 50));
    parser.push(misdatedFile.subarray(50));
    const rest = parser.finish();
    expect([...chunks, ...rest.columns.time]).toEqual([AUG12, AUG12, AUG12]);
    expect(rest.counts.misdated).toEqual([{ claimedDate: '2019-08-13', rows: 3 }]);
    expect(extractAll([gzipSync(misdatedFile)], DAY, 'day').counts.misdated).toEqual([{ claimedDate: '2019-08-13', rows: 3 }]);
  });

  it('a well-dated file says nothing; rows claiming several dates give one entry a date', () => {
    const good = csv(HEADER, `AAPL,1,1,1,1,1,${AUG12_NS},1`, 'BTC,1,1,1,1,1,1565568000000000000,1'); // NY and UTC midnight of 08-12
    expect(parseAllRows(good, DAY, 'day').counts).toEqual({ rows: 2, malformed: 0, duplicates: 0 });
    expect(parseRows(good, ['AAPL'], DAY, undefined, 'day').misdated).toBeUndefined();
    const mixed = csv(
      HEADER,
      `AAPL,1,1,1,1,1,${AUG13_NS},1`,
      'BTC,1,1,1,1,1,1565654400000000000,1', // midnight UTC of 08-13: re-stamped to midnight UTC of 08-12
      'MSFT,1,1,1,1,1,1565323200000000000,1', // 2019-08-09 New York midnight
      `TSLA,1,1,1,1,1,${AUG12_NS},1`,
    );
    const { columns, counts } = parseAllRows(mixed, DAY, 'day');
    expect([...columns.time]).toEqual([AUG12, Date.UTC(2019, 7, 12), AUG12, AUG12]);
    expect(counts.misdated).toEqual([
      { claimedDate: '2019-08-09', rows: 1 },
      { claimedDate: '2019-08-13', rows: 2 },
    ]);
  });

  it('a misdated row and a well-dated one of the same ticker: one bar, the last one, counted as a duplicate', () => {
    const both = csv(HEADER, `AAPL,1,1,1,1,1,${AUG12_NS},1`, `AAPL,2,2,2,2,2,${AUG13_NS},2`);
    const r = parseRows(both, ['AAPL'], DAY, undefined, 'day');
    expect(r.rows).toEqual([{ ticker: 'AAPL', time: AUG12, open: 2, high: 2, low: 2, close: 2, volume: 2, transactions: 2 }]);
    expect(r.duplicates).toBe(1);
    const all = parseAllRows(both, DAY, 'day');
    expect(all.counts).toMatchObject({ rows: 1, duplicates: 1 });
    expect([...all.columns.open]).toEqual([2]);
  });
});

describe('a minute file with rows outside its day', () => {
  // 2019-08-12 09:30 New York, and 2019-08-14 09:30 New York (two days on).
  const inside = 1565616600000;
  const outside = inside + 2 * 86_400_000;
  const file = csv(HEADER, `TSLA,1,1,1,1,1,${inside}000000,1`, `TSLA,1,1,1,1,1,${inside + 60_000}000000,1`, `TSLA,2,2,2,2,2,${outside}000000,2`);

  it('counts them and keeps them with their own time, in both parsers', () => {
    const r = parseRows(file, ['TSLA'], DAY, undefined, 'minute');
    expect(r.rows.map((x) => x.time)).toEqual([inside, inside + 60_000, outside]);
    expect(r.outsideSession).toBe(1);
    expect(r.malformed).toBe(0);
    const all = parseAllRows(file, DAY, 'minute');
    expect([...all.columns.time]).toEqual([inside, inside + 60_000, outside]);
    expect(all.counts).toEqual({ rows: 3, malformed: 0, duplicates: 0, outsideSession: 1 });
  });

  it('the whole UTC day and the New York day are inside (crypto files are UTC days)', () => {
    const c = new FileCalendar(DAY, 'minute');
    for (const t of [Date.UTC(2019, 7, 12), Date.UTC(2019, 7, 13, 3, 59)]) expect(c.stamp(t)).toBe(t);
    expect(c.counts()).toEqual({});
    c.stamp(Date.UTC(2019, 7, 13, 4));
    c.stamp(Date.UTC(2019, 7, 11, 23, 59));
    expect(c.counts()).toEqual({ outsideSession: 2 });
  });
});

describe('without a file kind', () => {
  it('a row more than 36 h from the day is malformed, as before', () => {
    expect(parseRows(misdatedFile, ['TSLA'], '2019-08-10').malformed).toBe(1);
    expect(parseAllRows(misdatedFile, '2019-08-10').counts.malformed).toBe(3);
  });
});
