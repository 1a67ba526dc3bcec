// exportBars('all') and `export --all`: every ticker the store holds, as stored, judged by hyparquet
// (a reader that did not write the files) against the cache file read directly with better-sqlite3.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, ConfigurationError, exportBars, readBars, type Bar, type ExportEvent } from '../../src/index.js';
import { MARKER } from '../../src/export/layout.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { JobSpec, Store } from '../../src/store/types.js';
import type { DayFile, ParsedRow } from '../../src/types.js';
import { cachedBarsAt, runCli } from '../e2e/helpers.js';
import { toBar, type LakeRow } from '../fixtures/lake.js';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';

// More rows than one of the writer's chunks (2,048), so chunk boundaries are crossed.
const STOCKS = ['AAPL', 'AMZN', 'BRK.B', 'GOOG', 'META', 'MSFT', 'NVDA', 'SPY', 'TSLA', 'ZW'];
/** `X:BTCUSD` is how the REST API spells a pair: not a symbol a user may type, but stored, it is exported. */
const CRYPTO = ['X:BTC-USD', 'X:BTCUSD'];
/** A ticker no symbol can name (lower case): skipped with a note, never fatal. */
const ODD = 'odd';
const STOCKS_DAY = 'us_stocks_sip/day_aggs_v1';
const JOBS: JobSpec[] = [
  { job: 'all/stocks', dataset: STOCKS_DAY, interval: '1d', tickers: [...STOCKS, ODD] },
  { job: 'all/indices', dataset: 'us_indices/day_aggs_v1', interval: '1d', tickers: ['I:SPX'] },
  { job: 'all/crypto', dataset: 'global_crypto/day_aggs_v1', interval: '1d', tickers: CRYPTO },
];
const EXPORTED = [...STOCKS, ...CRYPTO, 'I:SPX'].sort();

const DAYS = (() => {
  const out: string[] = [];
  for (let t = Date.parse('2023-06-01T00:00:00Z'); t <= Date.parse('2024-08-30T00:00:00Z'); t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
})();

function rawBar(ticker: string, day: string, i: number): ParsedRow {
  const base = 10 + (ticker.charCodeAt(ticker.length - 1) % 50) + i * 0.25;
  const crypto = ticker.startsWith('X:');
  return {
    ticker,
    // Crypto day files are stamped at midnight UTC: the New York session day is the day before.
    time: Date.parse(`${day}T${crypto ? '00' : '04'}:00:00Z`),
    open: base - 0.5,
    high: base + 1,
    low: base - 1,
    close: base,
    volume: 1000.5 + i,
    transactions: ticker === 'I:SPX' ? null : 100 + i,
  };
}

const dayFile = (dataset: string, day: string): DayFile => ({ key: `${dataset}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 1, etag: `e-${day}`, lastModified: undefined });

async function fill(store: Store, minutes = false): Promise<void> {
  for (const job of minutes ? [{ ...JOBS[0], interval: '1m', job: 'all/minutes' } as JobSpec] : JOBS) {
    await store.prepareJob(job, { clear: false });
    const queue = await store.openQueue([job]);
    try {
      const days = minutes ? DAYS.slice(0, 2) : DAYS;
      await queue.offer(job, days.map((d) => dayFile(job.dataset, d)));
      const items = await queue.claim(days.length);
      const rows = (day: string, i: number): ParsedRow[] =>
        job.tickers.flatMap((t) => (minutes ? Array.from({ length: 10 }, (_, m) => ({ ...rawBar(t, day, i + m), time: Date.parse(`${day}T14:30:00Z`) + m * 60_000 })) : [rawBar(t, day, i)]));
      await queue.complete(items.map((item) => ({ job, file: item.file, rows: rows(item.file.day, DAYS.indexOf(item.file.day)) })));
    } finally {
      await queue.close();
    }
  }
}


/** A SQLite cache in `dir` filled by {@link fill}. */
async function filledCache(dir: string, minutes = false): Promise<string> {
  const store = openSqliteStore(dir);
  try {
    await fill(store, minutes);
  } finally {
    await store.close();
  }
  return dir;
}

async function readLake(out: string, interval = '1d'): Promise<LakeRow[]> {
  const rows: LakeRow[] = [];
  const dir = join(out, `interval=${interval}`);
  for (const part of readdirSync(dir).sort()) {
    const file = await asyncBufferFromFile(join(dir, part, 'part-0.parquet'));
    const got = (await parquetReadObjects({ file, compressors })) as unknown as LakeRow[];
    const keys = got.map((r) => `${r.symbol}\u0000${r.time.toISOString()}`);
    expect(keys).toEqual([...keys].sort());
    rows.push(...got);
  }
  return rows;
}

const bySymbol = (rows: LakeRow[], s: string): Bar[] => rows.filter((r) => r.symbol === s).map(toBar).sort((a, b) => a.time - b.time);

let root: string;
let cacheDir: string;
let pg: TestPostgres;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmd-export-all-'));
  cacheDir = join(root, 'cache');
  const store = openSqliteStore(cacheDir);
  try {
    await fill(store);
  } finally {
    await store.close();
  }
  pg = await startPostgres();
});

afterAll(async () => {
  await pg?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("exportBars('all')", () => {
  it('exports every stored ticker row for row, as stored, and skips the one no symbol can name', async () => {
    const out = join(root, 'all');
    const report = await exportBars('all', { cacheDir, out, adjust: 'none' });
    expect(report.symbols).toEqual(EXPORTED);
    expect(report.skipped).toEqual([ODD]);
    expect(report.empty).toEqual([]);
    expect(new Set(report.datasets)).toEqual(new Set(['us_stocks_sip/day_aggs_v1', 'us_indices/day_aggs_v1', 'global_crypto/day_aggs_v1']));
    const rows = await readLake(out);
    expect(rows).toHaveLength(EXPORTED.length * DAYS.length);
    expect(report.rows).toBe(rows.length);
    for (const t of EXPORTED) expect(bySymbol(rows, t)).toEqual(cachedBarsAt(cacheDir, t, '1d'));
    // Year partitions of the session day: the crypto bar of 2024-01-01 00:00 UTC is New York's 2023-12-31.
    expect(report.files.map((f) => f.path)).toEqual(['interval=1d/year=2023/part-0.parquet', 'interval=1d/year=2024/part-0.parquet']);
    const btc = rows.filter((r) => r.symbol === 'X:BTCUSD' && r.time.toISOString() === '2024-01-01T00:00:00.000Z');
    expect(btc.map((r) => r.day.toISOString().slice(0, 10))).toEqual(['2023-12-31']);
  });

  it('keeps one dataset with `dataset`', async () => {
    const out = join(root, 'crypto');
    const report = await exportBars('all', { cacheDir, out, dataset: 'global_crypto/day_aggs_v1', partition: 'symbol' });
    expect(report.symbols).toEqual(CRYPTO);
    expect(readdirSync(join(out, 'interval=1d')).sort()).toEqual(['symbol=X%3ABTC-USD', 'symbol=X%3ABTCUSD']);
  });

  it('aggregates stored minutes of every ticker for an intraday interval', async () => {
    const minuteCache = await filledCache(join(root, 'minute-cache'), true);
    const out = join(root, 'minutes');
    const report = await exportBars('all', { cacheDir: minuteCache, out, interval: '5m', adjust: 'none' });
    expect(report.symbols).toEqual([...STOCKS].sort());
    const rows = await readLake(out, '5m');
    for (const t of STOCKS) expect(bySymbol(rows, t)).toEqual(await readBars(t, { cacheDir: minuteCache, interval: '5m', period: 'max', adjust: 'none' }));
    expect(rows).toHaveLength(STOCKS.length * 2 * 2);
  });

  it('exports stored minutes of every ticker as they are, and the regular session through the per-symbol reads', async () => {
    const minuteCache = await filledCache(join(root, 'minute-cache-1m'), true);
    const events: ExportEvent[] = [];
    const report = await exportBars('all', { cacheDir: minuteCache, out: join(root, 'minutes-1m'), interval: '1m', adjust: 'none', onProgress: (e) => events.push(e) });
    const rows = await readLake(report.out, '1m');
    for (const t of STOCKS) expect(bySymbol(rows, t)).toEqual(cachedBarsAt(minuteCache, t, '1m'));
    // The scan says how far it is, day by day.
    const scans = events.filter((e) => e.type === 'export-scan');
    expect(scans.map((e) => `${e.day} ${e.daysDone}/${e.daysTotal}`)).toEqual([`${DAYS[0]} 1/2`, `${DAYS[1]} 2/2`]);
    expect(scans.reduce((n, e) => n + e.rows, 0)).toBe(report.rows);
    const regular = await exportBars('all', { cacheDir: minuteCache, out: join(root, 'minutes-regular'), interval: '1m', session: 'regular', adjust: 'none' });
    const regularRows = await readLake(regular.out, '1m');
    for (const t of STOCKS) expect(bySymbol(regularRows, t)).toEqual(await readBars(t, { cacheDir: minuteCache, interval: '1m', session: 'regular', period: 'max', adjust: 'none' }));
  });

  it("keeps the later file's bar where two day files hold one time, rewriting a year already written", async () => {
    const overlapCache = join(root, 'overlap-cache');
    const store: Store = openSqliteStore(overlapCache);
    const first = DAYS[0] ?? '';
    // A file of a later day (after 2023 is complete, so its partition is already written) with a
    // bar of AAPL at the time of its first bar, and another value: a bogus window_start.
    const bogus = { ...rawBar('AAPL', first, 0), close: 999 };
    const job: JobSpec = { job: 'bogus', dataset: STOCKS_DAY, interval: '1d', tickers: ['AAPL'] };
    try {
      await fill(store);
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      await queue.offer(job, [dayFile(STOCKS_DAY, '2024-08-31')]);
      const [item] = await queue.claim(1);
      if (!item) throw new Error('no claim');
      await queue.complete([{ job, file: item.file, rows: [bogus] }]);
      await queue.close();
    } finally {
      await store.close();
    }
    const report = await exportBars('all', { cacheDir: overlapCache, out: join(root, 'overlap'), adjust: 'none' });
    const rows = await readLake(report.out);
    expect(rows).toHaveLength(EXPORTED.length * DAYS.length);
    const aapl = bySymbol(rows, 'AAPL');
    expect(aapl).toEqual(await readBars('AAPL', { cacheDir: overlapCache, period: 'max', adjust: 'none' }));
    expect(aapl[0]).toMatchObject({ time: bogus.time, close: 999 });
    expect(cachedBarsAt(overlapCache, 'AAPL', '1d').filter((b) => b.time === bogus.time)).toHaveLength(2);
  });

  it('stops a scan when told, leaving nothing in place', async () => {
    const out = join(root, 'stopped-scan');
    const controller = new AbortController();
    const error = await exportBars('all', {
      cacheDir,
      out,
      adjust: 'none',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'export-scan') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(readdirSync(out)).toEqual([MARKER]);
  });

  it('refuses adjusted bars when stocks have no stored actions, naming one, before writing anything', async () => {
    const out = join(root, 'adjusted');
    const error = await exportBars('all', { cacheDir, out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^Adjusted bars of AAPL need its corporate actions.*\(10 of the 10 stocks stored have no actions stored\)$/);
    expect(readdirSync(out)).toEqual([MARKER]);
    // As readBars does for one symbol, and a named export alike.
    await expect(readBars('MSFT', { cacheDir, period: 'max' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(exportBars(['MSFT'], { cacheDir, out })).rejects.toThrow(/^Adjusted bars of MSFT need its corporate actions/);
    expect(readdirSync(out)).toEqual([MARKER]);
  });

  it('adjusts every stock once their actions are stored', async () => {
    const adjustedCache = join(root, 'adjusted-cache');
    const store = openSqliteStore(adjustedCache);
    try {
      await fill(store);
      const fixture = corporateActionsFixture();
      await store.replaceActions(new Map(STOCKS.map((t) => [t, fixture.get(t) ?? { splits: [], dividends: [] }])), new Date().toISOString());
    } finally {
      await store.close();
    }
    const out = join(root, 'adjusted-ok');
    const report = await exportBars('all', { cacheDir: adjustedCache, out });
    expect(report.adjust).toBe('splits');
    const rows = await readLake(out);
    for (const t of STOCKS) expect(bySymbol(rows, t)).toEqual(await readBars(t, { cacheDir: adjustedCache, period: 'max' }));
    // Dividends too: the scan's factors per row against readBars' adjustment of each symbol's bars.
    const total = await readLake((await exportBars('all', { cacheDir: adjustedCache, out: join(root, 'adjusted-total'), adjust: 'total' })).out);
    for (const t of STOCKS) expect(bySymbol(total, t)).toEqual(await readBars(t, { cacheDir: adjustedCache, period: 'max', adjust: 'total' }));
    expect(bySymbol(total, 'AAPL')[0]?.close).toBeLessThan(bySymbol(rows, 'AAPL')[0]?.close ?? 0);
    // NVDA's 10-for-1 of 2024-06-10 is inside the window: its earlier closes are a tenth of the stored ones.
    const nvda = bySymbol(rows, 'NVDA');
    const raw = cachedBarsAt(adjustedCache, 'NVDA', '1d');
    expect(nvda[0]?.close).toBeCloseTo((raw[0]?.close ?? 0) / 10, 9);
    expect(nvda.at(-1)?.close).toBe(raw.at(-1)?.close);
    // Indices and crypto have no actions: exported as stored.
    for (const t of [...CRYPTO, 'I:SPX']) expect(bySymbol(rows, t)).toEqual(cachedBarsAt(adjustedCache, t, '1d'));
  });

  it('reads a PostgreSQL store the same way', async () => {
    const url = await pg.freshDatabase();
    const store = await openPostgresStore(url);
    try {
      await fill(store);
    } finally {
      await store.close();
    }
    const fromPg = await exportBars('all', { store: url, out: join(root, 'pg'), adjust: 'none' });
    expect(fromPg.symbols).toEqual(EXPORTED);
    expect(fromPg.skipped).toEqual([ODD]);
    const rows = await readLake(join(root, 'pg'));
    for (const t of EXPORTED) expect(bySymbol(rows, t)).toEqual(cachedBarsAt(cacheDir, t, '1d'));
  });

  it('refuses a string other than all', async () => {
    await expect(exportBars('TSLA' as 'all', { cacheDir, out: join(root, 'x') })).rejects.toThrow(/Expected `symbols` to be an array of symbols or 'all'/);
  });
});

describe('export --all on the CLI', () => {
  const env = { PATH: process.env['PATH'] };

  it('refuses symbols and --all together in one line, exit 2, writing nothing', async () => {
    const out = join(root, 'cli-both');
    const r = await runCli(['export', '--all', 'TSLA', '--out', out, '--cache-dir', cacheDir], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(['preload-market-data export: export takes symbols or --all, not both (got --all and TSLA)']);
    const none = await runCli(['export', '--out', out, '--cache-dir', cacheDir], env);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(() => readdirSync(out)).toThrow();
  });

  it('exports every stored ticker and says which were skipped', async () => {
    const out = join(root, 'cli-all');
    const r = await runCli(['export', '--all', '--out', out, '--cache-dir', cacheDir, '--adjust', 'none'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Exported ${EXPORTED.length} symbols (AAPL, AMZN, BRK.B, ...)`);
    expect(r.stdout).toContain(`rows:    ${EXPORTED.length * DAYS.length}`);
    expect(r.stdout).toContain('skipped (stored tickers that are not valid symbols): odd');
  });
});
