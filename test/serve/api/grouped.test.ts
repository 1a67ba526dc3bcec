// Grouped daily bars from a store filled with `--all` (real runs against generated flat files on a
// real s3rver), judged against the day files' own rows read by the test's reader, and the
// split-adjusted form against the generator's own split factors.
import { restClient } from '@massive.com/client-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorporateActions } from '../../../src/corporate-actions.js';
import { preload } from '../../../src/index.js';
import { corporateActionsFixture } from '../../fixtures/actions.js';
import { generatedSplitFactor } from '../../fixtures/generate.js';
import { S3_CREDENTIALS } from '../../fixtures/s3-server.js';
import { closeAll, serveStore, type ServedStore } from '../../fixtures/serve-app.js';
import { readSourceRows, type SourceRow } from '../../fixtures/source-bars.js';
import { CRYPTO, END, startWorld, STOCKS, type World } from '../../e2e/helpers.js';

const now = new Date('2026-11-21T18:00:00Z');
const KEY = 'any-key';
let w: World;
let serve: ServedStore;

beforeAll(async () => {
  w = await startWorld();
  const cacheDir = w.cacheDir('grouped');
  const base = { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, now, all: true };
  await preload([], { ...base, start: '2026-11-16', end: END });
  await preload([], { ...base, start: '2022-08-22', end: '2022-08-26' });
  await preload([], { ...base, dataset: CRYPTO, start: '2026-11-14', end: END });
  serve = await serveStore({ store: undefined, cacheDir }, now);
}, 240_000);
afterAll(() => closeAll(serve, w));

type Result = { T: string; v: number; o: number; c: number; h: number; l: number; t: number; n?: number };
const wire = (r: SourceRow, ticker = r.ticker): Result => ({ T: ticker, v: r.volume, o: r.open, c: r.close, h: r.high, l: r.low, t: r.time, ...(r.transactions === null ? {} : { n: r.transactions }) });
const byTicker = (a: { T: string }, b: { T: string }): number => (a.T < b.T ? -1 : a.T > b.T ? 1 : 0);
const client = () => restClient(KEY, serve.url);

describe('grouped daily', () => {
  it('stocks, adjusted=false: every row of the day file, as the file has it', async () => {
    const day = '2026-11-18';
    const answer = await client().getGroupedStocksAggregates({ date: day, adjusted: false });
    const rows = [...readSourceRows(w.ds, STOCKS, day, day).values()];
    expect(rows.length).toBeGreaterThan(300);
    expect(answer).toMatchObject({ adjusted: false, status: 'OK', resultsCount: rows.length, queryCount: rows.length });
    expect([...(answer.results ?? [])].sort(byTicker)).toEqual(rows.map((r) => wire(r)).sort(byTicker));
  });

  it('stocks, adjusted (the default) with no stored actions: an error naming the actions command, never raw bars', async () => {
    const r = await fetch(`${serve.url}/v2/aggs/grouped/locale/us/market/stocks/2026-11-18`);
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: string; status: string };
    expect(body.status).toBe('NOT_FOUND');
    expect(body.error).toContain('preload-market-data actions --all');
    expect(body.error).toContain('adjusted=false');
  });

  it('stocks, adjusted, once every ticker has stored actions: each bar times its own split factor', async () => {
    const day = '2022-08-24';
    const rows = [...readSourceRows(w.ds, STOCKS, day, day).values()];
    const fixture = corporateActionsFixture();
    const actions = new Map<string, CorporateActions>(rows.map((r) => [r.ticker, fixture.get(r.ticker) ?? { splits: [], dividends: [] }]));
    await serve.store.replaceActions(actions, new Date().toISOString());
    const answer = await client().getGroupedStocksAggregates({ date: day });
    expect(answer.adjusted).toBe(true);
    const got = [...(answer.results ?? [])].sort(byTicker);
    const expected = rows.map((r) => wire(r)).sort(byTicker);
    expect(got.map((r) => r.T)).toEqual(expected.map((r) => r.T));
    let adjusted = 0;
    for (const [i, g] of got.entries()) {
      const e = expected[i] as Result;
      const f = 1 / generatedSplitFactor(e.T, day);
      if (f !== 1) adjusted++;
      for (const k of ['o', 'h', 'l', 'c'] as const) expect(g[k]).toBeCloseTo(e[k] * f, 6);
      expect(g.v).toBeCloseTo(e.v / f, 3);
      expect(g.t).toBe(e.t);
    }
    // TSLA (3-for-1 the next day) and NVDA (10-for-1 in 2024) at least.
    expect(adjusted).toBeGreaterThanOrEqual(2);
    expect(got.find((r) => r.T === 'TSLA')?.c).toBeCloseTo((expected.find((r) => r.T === 'TSLA')?.c ?? 0) / 3, 6);
  });

  it('crypto, in the API spelling X:BTCUSD', async () => {
    const day = '2026-11-15';
    const answer = await client().getGroupedCryptoAggregates({ date: day });
    const rows = [...readSourceRows(w.ds, CRYPTO, day, day).values()];
    expect(rows.length).toBeGreaterThan(3);
    const expected = rows.map((r) => wire(r, r.ticker.replace('-', ''))).sort(byTicker);
    expect([...(answer.results ?? [])].sort(byTicker)).toEqual(expected);
    expect(answer.results?.some((r) => r.T === 'X:BTCUSD')).toBe(true);
  });

  it('a day no --all run covered: 404 naming the command that fills it; a weekend inside one: no bars', async () => {
    const r = await fetch(`${serve.url}/v2/aggs/grouped/locale/us/market/stocks/2026-11-10`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain(`preload-market-data --all --dataset ${STOCKS} --start 2026-11-10 --end 2026-11-10`);
    const weekend = await client().getGroupedStocksAggregates({ date: '2022-08-21', adjusted: false }).catch((e: { response?: { status: number } }) => e.response?.status);
    expect(weekend).toBe(404); // 08-21 is before the covered 08-22
    const sunday = await client().getGroupedCryptoAggregates({ date: '2026-11-20' });
    expect(sunday.resultsCount).toBeGreaterThan(0);
    const fx = await fetch(`${serve.url}/v2/aggs/grouped/locale/global/market/fx/2026-11-18`);
    expect(fx.status).toBe(404);
  });

  it('a ticker with no bars in a window an --all run covered: OK with resultsCount 0', async () => {
    const r = await fetch(`${serve.url}/v2/aggs/ticker/ZZZQ/range/1/day/2026-11-16/${END}?adjusted=false`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ticker: 'ZZZQ', resultsCount: 0, queryCount: 0, status: 'OK' });
    expect(body).not.toHaveProperty('results');
  });

  it('bad dates: 400', async () => {
    for (const d of ['2026-02-30', 'today', '20261118']) {
      const r = await fetch(`${serve.url}/v2/aggs/grouped/locale/us/market/stocks/${d}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toContain('date');
    }
  });
});
