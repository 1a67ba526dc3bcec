// `--fill` of a grouped day: the real shell (createServer with `fill`) over a real SQLite store and
// the real loopback S3 server, judged by the day files' own rows and the S3 server's request log
// (one GET per file for many concurrent requests, none for a day the listing has no file for).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload } from '../../src/index.js';
import { groupedAnswer } from '../../src/serve/api/grouped.js';
import { Filler, REFILL_AFTER_MS } from '../../src/serve/fill.js';
import { createServer, type MarketDataServer } from '../../src/serve/server.js';
import { openStore } from '../../src/store/open.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { readSourceRows, type SourceRow } from '../fixtures/source-bars.js';
import { CRYPTO, startWorld, STOCKS, type World } from '../e2e/helpers.js';

const now = new Date('2026-11-21T18:00:00Z');
const DAY = '2026-11-18';
const CRYPTO_DAY = '2026-11-15';
const SATURDAY = '2026-11-14';
const HOLIDAY = '2025-12-25'; // a Thursday: the generator publishes no stock file on Dec 25
/** A weekday after the world's last file (END, 2026-11-20, a Friday): no file, and none later. */
const NOT_YET = '2026-11-23';
/** A clock by which NOT_YET is published (the server's last published day is 2026-11-24). */
const LATER = new Date('2026-11-25T18:00:00Z');

let w: World;
const servers: MarketDataServer[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  w = await startWorld();
}, 120_000);
afterAll(async () => {
  for (const s of servers) await s.close();
  await w?.close();
});

async function serve(cacheDir: string, fill: boolean, at = now): Promise<string> {
  // No environment: the shell's own must not change the test.
  const server = await createServer(
    { cacheDir, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, host: '127.0.0.1', port: 0, fill, now: () => at, log: (line) => void logLines.push(line) },
    {},
  );
  servers.push(server);
  return (await server.listen()).url;
}

type Result = { T: string; v: number; o: number; c: number; h: number; l: number; t: number; n?: number };
type Body = { status: string; error?: string; results?: Result[]; resultsCount?: number; queryCount?: number; adjusted?: boolean; request_id?: string };

async function grouped(url: string, market: 'stocks' | 'crypto', day: string): Promise<{ status: number; body: Body }> {
  const locale = market === 'stocks' ? 'us' : 'global';
  const res = await fetch(`${url}/v2/aggs/grouped/locale/${locale}/market/${market}/${day}?adjusted=false`);
  return { status: res.status, body: (await res.json()) as Body };
}

/** The day file's own rows in the API's fields (crypto tickers in the API's spelling). */
function fileRows(dataset: string, day: string): Result[] {
  const wire = (r: SourceRow): Result => ({
    T: dataset === CRYPTO ? r.ticker.replace('-', '') : r.ticker,
    v: r.volume,
    o: r.open,
    c: r.close,
    h: r.high,
    l: r.low,
    t: r.time,
    ...(r.transactions === null ? {} : { n: r.transactions }),
  });
  return [...readSourceRows(w.ds, dataset, day, day).values()].map(wire).sort(byTicker);
}
const byTicker = (a: { T: string }, b: { T: string }): number => (a.T < b.T ? -1 : a.T > b.T ? 1 : 0);

async function metric(url: string, series: RegExp): Promise<number> {
  const m = series.exec(await (await fetch(`${url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

describe('serve --fill, grouped daily', () => {
  it('without --fill: a 404 naming the --all command, a NotStoredError carrying the market day, and nothing downloaded', async () => {
    const cacheDir = w.cacheDir('plain');
    const url = await serve(cacheDir, false);
    await w.server.resetStats();
    const r = await grouped(url, 'stocks', DAY);
    expect(r.status).toBe(404);
    expect(r.body.status).toBe('NOT_FOUND');
    expect(r.body.error).toContain(`preload-market-data --all --dataset ${STOCKS} --start ${DAY} --end ${DAY}`);
    expect((await w.server.stats()).totalGets).toBe(0);
    // What the shell's --fill is handed: the dataset and the day, not a symbol.
    const store = await openStore({ store: undefined, cacheDir });
    try {
      const answer = groupedAnswer(STOCKS)({ store, now: () => now }, { params: { date: DAY }, query: { adjusted: 'false' }, baseUrl: url, requestId: 'r' });
      await expect(answer).rejects.toMatchObject({ name: 'NotStoredError', status: 404, missing: { kind: 'market', dataset: STOCKS, start: DAY, end: DAY } });
    } finally {
      await store.close();
    }
  });

  describe('with --fill', () => {
    let url: string;
    beforeAll(async () => {
      url = await serve(w.cacheDir('fill'), true);
    });

    it("many concurrent requests for a missing day: every one answered with the day file's rows, one GET of that file", async () => {
      const stockFile = dayFilesFor(w.ds, STOCKS, DAY, DAY)[0];
      const cryptoFile = dayFilesFor(w.ds, CRYPTO, CRYPTO_DAY, CRYPTO_DAY)[0];
      expect(stockFile && cryptoFile).toBeTruthy();
      await w.server.resetStats();
      // Slow GETs: every request arrives while the download is under way.
      await w.server.setLatency(150);
      let answers: Array<{ status: number; body: Body }>;
      try {
        answers = await Promise.all([
          ...Array.from({ length: 12 }, () => grouped(url, 'stocks', DAY)),
          ...Array.from({ length: 6 }, () => grouped(url, 'crypto', CRYPTO_DAY)),
        ]);
      } finally {
        await w.server.setLatency(0);
      }
      const stocks = fileRows(STOCKS, DAY);
      const crypto = fileRows(CRYPTO, CRYPTO_DAY);
      expect(stocks.length).toBeGreaterThan(300);
      expect(crypto.length).toBeGreaterThan(3);
      for (const [i, a] of answers.entries()) {
        const expected = i < 12 ? stocks : crypto;
        expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(200);
        expect(a.body).toMatchObject({ status: 'OK', adjusted: false, resultsCount: expected.length, queryCount: expected.length });
        expect([...(a.body.results ?? [])].sort(byTicker)).toEqual(expected);
      }
      const { gets } = await w.server.stats();
      expect(gets).toEqual({ [stockFile?.key ?? '']: 1, [cryptoFile?.key ?? '']: 1 });
      // One preload per day, each counted and logged as a market day's.
      expect(await metric(url, /^preload_market_data_serve_fills_total\{kind="market",result="done"\} (\d+)$/m)).toBe(2);
      const started = logLines.map((l) => JSON.parse(l) as { msg?: string; fill?: Record<string, unknown> }).filter((l) => l.msg === 'fill started');
      expect(started.map((l) => l.fill).sort((a, b) => String(a?.['dataset']).localeCompare(String(b?.['dataset'])))).toEqual([
        { kind: 'market', dataset: CRYPTO, start: CRYPTO_DAY, end: CRYPTO_DAY },
        { kind: 'market', dataset: STOCKS, start: DAY, end: DAY },
      ]);
      // Filled: asked again, it is read from the store, with nothing listed or fetched.
      await w.server.resetStats();
      const again = await grouped(url, 'stocks', DAY);
      expect([...(again.body.results ?? [])].sort(byTicker)).toEqual(stocks);
      expect(await w.server.stats()).toMatchObject({ totalGets: 0, lists: 0 });
    });

    it.each([
      ['a Saturday', SATURDAY, '2026-11-13', '2026-11-16'],
      ['a holiday (a weekday with no file, a later one listed)', HOLIDAY, '2025-12-24', '2025-12-26'],
    ])('%s: the answer a store an --all run covered gives for it (OK, no bars), no GET, and listed once only', async (_, day, from, to) => {
      // The second source: a store an --all run of the days around it filled, served without --fill.
      const covered = w.cacheDir(`covered-${day}`);
      await preload([], { cacheDir: covered, endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, all: true, start: from, end: to });
      const before = await grouped(await serve(covered, false), 'stocks', day);
      expect(before).toMatchObject({ status: 200, body: { status: 'OK', resultsCount: 0 } });

      await w.server.resetStats();
      const answers = await Promise.all(Array.from({ length: 4 }, () => grouped(url, 'stocks', day)));
      for (const a of answers) expect({ status: a.status, body: { ...a.body, request_id: '' } }).toEqual({ status: 200, body: { ...before.body, request_id: '' } });
      const stats = await w.server.stats();
      expect(stats.totalGets).toBe(0);
      expect(stats.lists).toBeGreaterThan(0);
      // Recorded covered: asked again, no listing.
      await w.server.resetStats();
      expect((await grouped(url, 'stocks', day)).status).toBe(200);
      expect((await w.server.stats()).lists).toBe(0);
    });

    it('a weekday after the last file (published by the clock, not in the bucket yet): a 404 saying the listing has none, no GET, not listed again on every request', async () => {
      const late = await serve(w.cacheDir('not-yet'), true, LATER);
      await w.server.resetStats();
      const first = await grouped(late, 'stocks', NOT_YET);
      expect(first.status).toBe(404);
      expect(first.body.error).toContain('no file');
      expect(first.body.error).toContain(`--start ${NOT_YET}`);
      const listed = (await w.server.stats()).lists;
      expect(listed).toBeGreaterThan(0);
      const again = await Promise.all(Array.from({ length: 3 }, () => grouped(late, 'stocks', NOT_YET)));
      for (const a of again) expect(a).toMatchObject({ status: 404, body: { error: first.body.error } });
      expect(await w.server.stats()).toMatchObject({ totalGets: 0, lists: listed });
    });

    it("a ticker's missing window is still filled, counted and logged as a symbol's", async () => {
      const files = dayFilesFor(w.ds, STOCKS, '2026-11-09', '2026-11-10');
      await w.server.resetStats();
      const res = await fetch(`${url}/v2/aggs/ticker/AAPL/range/1/day/2026-11-09/2026-11-10?adjusted=false`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { resultsCount: number };
      expect(body.resultsCount).toBe(files.length);
      const { gets } = await w.server.stats();
      expect(gets).toEqual(Object.fromEntries(files.map((f) => [f.key, 1])));
      expect(await metric(url, /^preload_market_data_serve_fills_total\{kind="symbol",result="done"\} (\d+)$/m)).toBe(1);
      const started = logLines.map((l) => JSON.parse(l) as { msg?: string; fill?: Record<string, unknown> }).filter((l) => l.msg === 'fill started' && l.fill?.['kind'] === 'symbol');
      expect(started.map((l) => l.fill)).toEqual([{ kind: 'symbol', symbol: 'AAPL', interval: '1d', start: '2026-11-09', end: '2026-11-10' }]);
    });
  });

  it('the Filler fills a window that a fill left uncovered again once REFILL_AFTER_MS has passed (a late file is found then)', async () => {
    let t = 1_000_000;
    const ended: string[] = [];
    const filler = new Filler(
      { cacheDir: w.cacheDir('refill'), endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS } },
      { onStart: () => {}, onEnd: (m, error) => void ended.push(`${m.kind} ${String(error)}`) },
      () => t,
    );
    const holiday = { kind: 'market', dataset: STOCKS, start: NOT_YET, end: NOT_YET } as const;
    await w.server.resetStats();
    await filler.ensure(holiday);
    const listed = (await w.server.stats()).lists;
    expect(listed).toBeGreaterThan(0);
    t += REFILL_AFTER_MS - 1;
    await filler.ensure(holiday);
    expect((await w.server.stats()).lists).toBe(listed);
    t += 1;
    await filler.ensure(holiday);
    expect((await w.server.stats()).lists).toBe(2 * listed);
    expect(ended).toEqual(['market undefined', 'market undefined']);
    expect((await w.server.stats()).totalGets).toBe(0);
    await filler.close();
  });
});
