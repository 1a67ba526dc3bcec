// BarStore.readJson (Store.readBarsJson): the bars `read` returns, encoded by SQLite, judged by
// parsing the text and comparing with `read` of the same store; and the cases it leaves to `read`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BarStore, type BarRow } from '../../../src/store/sqlite/bars.js';
import { openDatabase, type Db } from '../../../src/store/sqlite/db.js';
import { TICKER_INDEX, TICKER_INDEX_DDL } from '../../../src/store/sqlite/ticker-index.js';
import type { JsonShape } from '../../../src/store/types.js';
import { asResult, RESULT_FIELDS } from '../../fixtures/result-shape.js';

let dir: string;
let db: Db;
let bars: BarStore;

/** Day bars of `symbol` on consecutive days from 2026-03-02, prices with fractions and whole ones. */
function rows(symbol: string, days: number, from = 0): BarRow[] {
  return Array.from({ length: days }, (_, i) => {
    const d = from + i;
    const day = `2026-03-${String(2 + d).padStart(2, '0')}`;
    return {
      symbol,
      day,
      time: Date.parse(`${day}T05:00:00Z`),
      open: 10 + d / 7,
      high: 12 + d,
      low: 9.1 + d / 1000,
      close: 11.25 + d / 3,
      // A whole volume, a fractional one (crypto), a tiny one.
      volume: d % 3 === 0 ? 1000 + d : d % 3 === 1 ? 0.00012345 * (d + 1) : 1547.183,
      transactions: d % 4 === 0 ? null : 10 + d,
    };
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-bars-json-'));
  db = openDatabase(dir);
  bars = new BarStore(db);
  db.transaction(() => {
    bars.upsert('1d', [...rows('AAA', 20), ...rows('BBB', 5)]);
    bars.upsert('1m', rows('AAA', 2));
  })();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const window = { symbol: 'AAA', interval: '1d', start: '2026-03-01', end: '2026-03-31' };

describe('readJson', () => {
  it('encodes the bars read returns, every field and the order, ascending and descending', () => {
    const read = bars.read('AAA', '1d', window.start, window.end);
    expect(read).toHaveLength(20);
    const asc = bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 5000 });
    expect(asc).toBeDefined();
    expect(JSON.parse(asc?.json ?? '')).toEqual(read.map(asResult));
    expect(asc?.count).toBe(20);
    expect(asc?.first).toBe(read[0]?.time);
    // Null transactions: no `n` at all, as toResult leaves it out.
    expect((JSON.parse(asc?.json ?? '') as object[])[0]).not.toHaveProperty('n');
    const desc = bars.readJson(window, { fields: RESULT_FIELDS, desc: true, limit: 5000 });
    expect(JSON.parse(desc?.json ?? '')).toEqual(read.map(asResult).reverse());
    expect(desc?.first).toBe(read[0]?.time);
  });

  it('takes the keys and fields of the shape, in its order', () => {
    const shape: JsonShape = { fields: [['o', 'open'], ['c', 'close'], ['h', 'high'], ['l', 'low'], ['t', 'time']], desc: false, limit: 5000 };
    const json = bars.readJson({ ...window, symbol: 'BBB' }, shape)?.json ?? '';
    const read = bars.read('BBB', '1d', window.start, window.end);
    expect(JSON.parse(json)).toEqual(read.map((b) => ({ o: b.open, c: b.close, h: b.high, l: b.low, t: b.time })));
    expect(Object.keys((JSON.parse(json) as object[])[0] ?? {})).toEqual(['o', 'c', 'h', 'l', 't']);
    expect(() => bars.readJson(window, { ...shape, fields: [["o'", 'open']] })).toThrow(/Bad JSON key/);
  });

  it('answers an empty window as an empty array', () => {
    expect(bars.readJson({ ...window, start: '2025-01-01', end: '2025-01-31' }, { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toEqual({ json: '[]', count: 0, first: undefined });
  });

  it('leaves more bars than the limit to read, and answers exactly the limit', () => {
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 19 })).toBeUndefined();
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: true, limit: 19 })).toBeUndefined();
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 20 })?.count).toBe(20);
  });

  it('leaves two day files holding one time to read, which keeps the later file', () => {
    // A misdated file: the bar of 03-05's session stored again under day 03-06 with other prices.
    const [again] = rows('AAA', 1, 3);
    db.transaction(() => bars.upsert('1d', [{ ...(again as BarRow), day: '2026-03-06', close: 99 }]))();
    const read = bars.read('AAA', '1d', window.start, window.end);
    expect(read.filter((b) => b.close === 99)).toHaveLength(1);
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toBeUndefined();
  });

  it('leaves minute bars, and a store without the index by ticker, to read', () => {
    expect(bars.readJson({ ...window, interval: '1m' }, { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toBeUndefined();
    db.exec(`DROP INDEX ${TICKER_INDEX}`);
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toBeUndefined();
    db.exec(TICKER_INDEX_DDL);
    expect(bars.readJson(window, { fields: RESULT_FIELDS, desc: false, limit: 5000 })?.count).toBe(20);
  });
});
