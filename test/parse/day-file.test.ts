import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractTickers, ParseError, parseRows, RowFilter } from '../../src/parse/day-file.js';

const HEADER = 'ticker,volume,open,close,high,low,window_start,transactions';
const csv = (...lines: string[]): Buffer => Buffer.from(`${lines.join('\n')}\n`);

describe('parseRows', () => {
  it.each([
    {
      name: 'window_start above 2^53 keeps full precision',
      csv: csv(HEADER, 'TSLA,100,1.5,2.5,3,1,1679889600000000000,7'),
      rows: [{ ticker: 'TSLA', time: 1679889600000, open: 1.5, close: 2.5, high: 3, low: 1, volume: 100, transactions: 7 }],
    },
    {
      name: 'a window_start whose double rounding would be off by one millisecond',
      // 1679889600001999999 ns: Number() rounds it to ...002000000, i.e. 1 ms late.
      csv: csv(HEADER, 'TSLA,1,1,1,1,1,1679889600001999999,1'),
      rows: [{ time: 1679889600001 }],
    },
    {
      name: 'reordered columns are read by name',
      csv: csv('window_start,close,ticker,low,high,open,transactions,volume', '1679889600000000000,2.5,TSLA,1,3,1.5,7,100'),
      rows: [{ ticker: 'TSLA', time: 1679889600000, open: 1.5, close: 2.5, high: 3, low: 1, volume: 100, transactions: 7 }],
    },
    {
      name: 'fractional volume',
      csv: csv(HEADER, 'TSLA,100.25,1,1,1,1,1679889600000000000,7'),
      rows: [{ volume: 100.25 }],
    },
    {
      name: 'only the requested ticker, not its prefix twins',
      csv: csv(HEADER, 'TSL,1,9,9,9,9,1679889600000000000,1', 'TSLA,1,1,1,1,1,1679889600000000000,1', 'TSLAX,1,8,8,8,8,1679889600000000000,1'),
      rows: [{ ticker: 'TSLA', open: 1 }],
    },
    {
      name: 'CRLF line endings',
      csv: Buffer.from(`${HEADER}\r\nTSLA,1,1,1,1,1,1679889600000000000,7\r\n`),
      rows: [{ ticker: 'TSLA', transactions: 7 }],
    },
    {
      name: 'no transactions column (indices)',
      csv: csv('ticker,open,close,high,low,window_start', 'TSLA,1,1,1,1,1679889600000000000'),
      rows: [{ volume: 0, transactions: null }],
    },
  ])('$name', ({ csv: body, rows }) => {
    const r = parseRows(body, ['TSLA']);
    expect(r.malformed).toBe(0);
    expect(r.rows).toHaveLength(rows.length);
    rows.forEach((row, i) => expect(r.rows[i]).toMatchObject(row));
  });

  it('counts malformed rows instead of crashing', () => {
    const r = parseRows(
      csv(HEADER, 'TSLA,1,1,1,1,1,notanumber,1', 'TSLA,1,,1,1,1,1679889600000000000,1', 'TSLA,1,1,1,1', 'TSLA,1,1,1,1,1,1679976000000000000,1'),
      ['TSLA'],
    );
    expect(r.malformed).toBe(3);
    expect(r.rows).toHaveLength(1);
  });

  it('merges duplicate rows of one bar, the last one winning', () => {
    const r = parseRows(csv(HEADER, 'TSLA,1,1,1,1,1,1679889600000000000,1', 'TSLA,2,2,2,2,2,1679889600000000000,2'), ['TSLA']);
    expect(r.duplicates).toBe(1);
    expect(r.rows).toEqual([expect.objectContaining({ open: 2 })]);
    const values = (n: number) => ({ open: n, high: n, low: n, close: n, volume: n, transactions: n });
    expect(r.duplicateConflicts).toEqual({ rows: 1, examples: [{ ticker: 'TSLA', time: 1679889600000, before: values(2), after: values(1) }] });
  });

  it('names only repeats whose values differ, in the rows of the wanted tickers, streamed or not', () => {
    const lines = [
      HEADER,
      'AAPL,9,9,9,9,9,1679889600000000000,9',
      'AAPL,8,8,8,8,8,1679889600000000000,8', // not wanted: not looked at
      'TSLA,1,1,1,1,1,1679889600000000000,1',
      'TSLA,1,1,1,1,1,1679889600000000000,1', // identical: counted, not a conflict
      'TSLA,5,1,2,3,0.5,1679976000000000000,', // no transactions
      'TSLA,5,1,2,3,0.5,1679976000000000000,7',
    ];
    const r = parseRows(csv(...lines), ['TSLA']);
    expect(r.duplicates).toBe(2);
    expect(r.duplicateConflicts).toEqual({
      rows: 1,
      examples: [
        {
          ticker: 'TSLA',
          time: 1679976000000,
          before: { open: 1, close: 2, high: 3, low: 0.5, volume: 5, transactions: 7 },
          after: { open: 1, close: 2, high: 3, low: 0.5, volume: 5, transactions: null },
        },
      ],
    });
    const filter = new RowFilter(['TSLA']);
    filter.push(csv(...lines));
    expect(filter.finish()).toMatchObject({ duplicates: 2, duplicateConflicts: r.duplicateConflicts });
    expect(parseRows(csv(...lines.slice(0, 4)), ['TSLA']).duplicateConflicts).toBeUndefined();
  });

  it('counts a row whose window_start is far from the file day as malformed', () => {
    const r = parseRows(csv(HEADER, 'TSLA,1,1,1,1,1,1679889600000000000,1'), ['TSLA'], '2024-01-02');
    expect(r.malformed).toBe(1);
    expect(r.rows).toHaveLength(0);
  });

  it('rejects a file without the required columns', () => {
    expect(() => parseRows(csv('ticker,open', 'TSLA,1'), ['TSLA'])).toThrow(ParseError);
  });
});

describe('extractTickers', () => {
  // A big sorted file: early stop must still return every row of the last wanted ticker.
  const tickers = Array.from({ length: 20_000 }, (_, i) => `T${String(i).padStart(5, '0')}`);
  const big = gzipSync(csv(HEADER, ...tickers.map((t, i) => `${t},${i},1,1,1,1,1679889600000000000,${i}`)));

  it.each([true, false])('finds every wanted ticker in a large sorted file (earlyStop %s)', (earlyStop) => {
    const r = extractTickers(big, ['T00010', 'T12345', 'T19999'], { earlyStop });
    expect(r.rows.map((x) => [x.ticker, x.volume])).toEqual([
      ['T00010', 10],
      ['T12345', 12345],
      ['T19999', 19999],
    ]);
  });

  it('inflates only the needed share once it has learned it, and falls back when a file needs more', () => {
    const wanted = ['T05000'];
    const first = extractTickers(big, wanted, { earlyStop: true }); // learns: about a quarter
    const again = extractTickers(big, wanted, { earlyStop: true });
    expect(again).toEqual(first);
    expect(again.rows).toEqual([expect.objectContaining({ ticker: 'T05000', volume: 5000 })]);
    // A later ticker than the learned share reaches: the prefix falls short, the whole file is read.
    const later = extractTickers(big, ['T05000', 'T19990'], { earlyStop: true });
    expect(later.rows.map((r) => r.ticker)).toEqual(['T05000', 'T19990']);
  });

  it('starts the search at a hint only when its line sorts before every wanted ticker', () => {
    const text = gunzipSync(big);
    const all = parseRows(text, ['T05000', 'T05001']);
    const at = text.indexOf('\nT05000,');
    for (const from of [undefined, 0, 10, Math.floor(at * 0.9), at - 1, at, at + 1, at + 100, text.length - 1, text.length + 5]) {
      expect(parseRows(text, ['T05000', 'T05001'], undefined, from).rows).toEqual(all.rows);
    }
    expect(all.firstAt).toBe(at);
  });

  it('fails a body that is not gzip, or empty, with ERR_PARSE', () => {
    expect(() => extractTickers(Buffer.from('hello, world'), ['TSLA'], { earlyStop: true })).toThrow(expect.objectContaining({ code: 'ERR_PARSE' }));
    expect(() => extractTickers(Buffer.alloc(0), ['TSLA'], { earlyStop: false })).toThrow(/empty/);
  });
});

describe('RowFilter (streaming)', () => {
  const tickers = Array.from({ length: 3_000 }, (_, i) => `T${String(i).padStart(4, '0')}`);
  const minutes = (t: string, i: number): string[] =>
    Array.from({ length: 3 }, (_, m) => `${t},${i},1,1,1,1,${1679889600000000000n + BigInt(m) * 60_000_000_000n},${m}`);
  const body = csv(HEADER, ...tickers.flatMap(minutes));

  it.each([1, 7, 64, 4096])('finds every row of the wanted tickers whatever the chunk size (%i bytes)', (size) => {
    const filter = new RowFilter(['T0002', 'T1500', 'T2999']);
    for (let at = 0; at < body.length && !filter.done; at += size) filter.push(body.subarray(at, at + size));
    const r = filter.finish();
    expect(r.rows.map((x) => `${x.ticker}@${x.transactions}`)).toEqual(
      ['T0002', 'T1500', 'T2999'].flatMap((t) => [0, 1, 2].map((m) => `${t}@${m}`)),
    );
  });

  it('says it is done once past the last wanted ticker', () => {
    const filter = new RowFilter(['T0010']);
    let fed = 0;
    for (let at = 0; at < body.length && !filter.done; at += 1024) {
      filter.push(body.subarray(at, at + 1024));
      fed = at + 1024;
    }
    expect(filter.done).toBe(true);
    expect(fed).toBeLessThan(body.length / 10);
    expect(filter.finish().rows).toHaveLength(3);
  });

  it('reads columns by name when ticker is not first, and keeps a last line without newline', () => {
    const filter = new RowFilter(['TSLA']);
    filter.push(Buffer.from('window_start,close,ticker,low,high,open,transactions,volume\n1679889600000000000,2.5,TSLA,1,3,1.5,7,100'));
    expect(filter.finish().rows).toEqual([{ ticker: 'TSLA', time: 1679889600000, open: 1.5, close: 2.5, high: 3, low: 1, volume: 100, transactions: 7 }]);
  });
});
