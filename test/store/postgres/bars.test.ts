// sql/bars.ts readBarsJson (Store.readBarsJson on PostgreSQL): the bars readBars returns, encoded
// by the server, judged by parsing the text and comparing with readBars of the same store.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import type { Store } from '../../../src/store/types.js';
import { asResult, RESULT_FIELDS } from '../../fixtures/result-shape.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';

let server: TestPostgres;
let store: Store;

beforeAll(async () => {
  server = await startPostgres();
  const url = await server.freshDatabase();
  store = await openPostgresStore(url);
  const admin = new pg.Client(url);
  await admin.connect();
  try {
    const insert = 'INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)';
    for (let d = 0; d < 20; d++) {
      const day = `2026-03-${String(2 + d).padStart(2, '0')}`;
      const time = Date.parse(`${day}T05:00:00Z`);
      // Fractions, whole numbers, a tiny volume (crypto), no transactions every fourth day.
      const volume = d % 3 === 0 ? 1000 + d : d % 3 === 1 ? 0.00012345 * (d + 1) : 1547.183;
      await admin.query(insert, ['AAA', '1d', time, day, 10 + d / 7, 12 + d, 9.1 + d / 1000, 11.25 + d / 3, volume, d % 4 === 0 ? null : 10 + d]);
    }
    // A misdated file: 03-05's session stored again under day 03-06, other prices; readBars keeps the later file's.
    await admin.query(insert, ['AAA', '1d', Date.parse('2026-03-05T05:00:00Z'), '2026-03-06', 1, 2, 0.5, 99, 5, 1]);
  } finally {
    await admin.end();
  }
}, 120_000);

afterAll(async () => {
  await store?.close();
  await server?.close();
});

describe('readBarsJson on PostgreSQL', () => {
  it('encodes the bars readBars returns, every field, the order, the later of two files holding one time', async () => {
    const read = await store.readBars('AAA', '1d', '2026-03-01', '2026-03-31');
    expect(read).toHaveLength(20);
    expect(read.filter((b) => b.close === 99)).toHaveLength(1);
    const asc = await store.readBarsJson?.('AAA', '1d', '2026-03-01', '2026-03-31', { fields: RESULT_FIELDS, desc: false, limit: 5000 });
    expect(JSON.parse(asc?.json ?? '')).toEqual(read.map(asResult));
    expect(asc?.count).toBe(20);
    expect(asc?.first).toBe(read[0]?.time);
    const desc = await store.readBarsJson?.('AAA', '1d', '2026-03-01', '2026-03-31', { fields: RESULT_FIELDS, desc: true, limit: 5000 });
    expect(JSON.parse(desc?.json ?? '')).toEqual(read.map(asResult).reverse());
    // Keys in the shape's order.
    expect(Object.keys((JSON.parse(asc?.json ?? '') as object[])[1] ?? {})).toEqual(['v', 'o', 'c', 'h', 'l', 't', 'n']);
  });

  it('answers an empty window as an empty array, and more bars than the limit as undefined', async () => {
    expect(await store.readBarsJson?.('AAA', '1d', '2025-01-01', '2025-01-31', { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toEqual({ json: '[]', count: 0, first: undefined });
    expect(await store.readBarsJson?.('ZZZ', '1d', '2026-03-01', '2026-03-31', { fields: RESULT_FIELDS, desc: false, limit: 5000 })).toEqual({ json: '[]', count: 0, first: undefined });
    expect(await store.readBarsJson?.('AAA', '1d', '2026-03-01', '2026-03-31', { fields: RESULT_FIELDS, desc: false, limit: 19 })).toBeUndefined();
    expect((await store.readBarsJson?.('AAA', '1d', '2026-03-01', '2026-03-31', { fields: RESULT_FIELDS, desc: true, limit: 20 }))?.count).toBe(20);
  });
});
