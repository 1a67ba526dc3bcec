import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionStore } from '../../../src/store/sqlite/actions.js';
import { BarStore } from '../../../src/store/sqlite/bars.js';
import { openDatabase, SCHEMA_VERSION, type Db } from '../../../src/store/sqlite/db.js';
import { ConfigurationError } from '../../../src/errors.js';
import { SCHEMA_2, SCHEMA_3 } from '../../fixtures/old-schemas.js';

let dir: string;
let db: Db;
let bars: BarStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-cache-'));
  db = openDatabase(dir);
  bars = new BarStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const bar = (day: string, close: number) => ({
  symbol: 'TSLA',
  day,
  time: Date.parse(`${day}T05:00:00Z`),
  open: 1,
  high: 2,
  low: 0.5,
  close,
  volume: 10.5,
  transactions: 3,
});

describe('BarStore', () => {
  it('upserts: re-ingesting a day replaces its bar instead of duplicating it', () => {
    bars.upsert('1d', [bar('2024-01-02', 1), bar('2024-01-03', 2)]);
    bars.upsert('1d', [bar('2024-01-03', 3)]);
    const read = bars.read('TSLA', '1d', '2024-01-01', '2024-01-31');
    expect(read.map((b) => b.close)).toEqual([1, 3]);
    expect(read[0]).toEqual({ time: Date.parse('2024-01-02T05:00:00Z'), open: 1, high: 2, low: 0.5, close: 1, volume: 10.5, transactions: 3 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM bars').get()).toEqual({ n: 2 });
  });

  it('replaces a day: rows the new file dropped disappear, other days stay', () => {
    bars.upsert('1d', [bar('2024-01-02', 1), bar('2024-01-03', 2)]);
    bars.replaceDay('TSLA', '1d', '2024-01-03', []);
    expect(bars.read('TSLA', '1d', '2024-01-01', '2024-01-31').map((b) => b.close)).toEqual([1]);
    bars.replaceDay('TSLA', '1d', '2024-01-02', [bar('2024-01-02', 9)]);
    expect(bars.read('TSLA', '1d', '2024-01-01', '2024-01-31').map((b) => b.close)).toEqual([9]);
  });

  it('reads a window by calendar day, inclusive of both ends', () => {
    bars.upsert('1d', [bar('2024-01-02', 1), bar('2024-01-03', 2), bar('2024-01-04', 3)]);
    expect(bars.read('TSLA', '1d', '2024-01-03', '2024-01-03').map((b) => b.close)).toEqual([2]);
    expect(bars.read('TSLA', '1d', '2024-01-03', '2024-01-04').map((b) => b.close)).toEqual([2, 3]);
    expect(bars.read('AAPL', '1d', '2024-01-01', '2024-12-31')).toEqual([]);
  });

  it('records ingested days, including days with no row', () => {
    const f = { dataset: 'd', key: 'k', etag: 'e' };
    bars.markIngested('TSLA', '1d', { ...f, day: '2024-01-02' }, 1);
    bars.markIngested('TSLA', '1d', { ...f, day: '2024-01-03' }, 0);
    expect(bars.ingestedDays('TSLA', '1d', '2024-01-01', '2024-01-31')).toEqual(
      new Map([
        ['2024-01-02', 'e'],
        ['2024-01-03', 'e'],
      ]),
    );
    expect([...bars.ingestedDays('TSLA', '1d', '2024-01-03', '2024-01-31').keys()]).toEqual(['2024-01-03']);
  });

  it.each([
    [[['2024-01-01', '2024-06-30']], '2024-02-01', '2024-03-01', true],
    [[['2024-01-01', '2024-06-30']], '2023-12-31', '2024-03-01', false],
    [[['2024-01-01', '2024-03-31'], ['2024-04-01', '2024-06-30']], '2024-02-01', '2024-05-01', true],
    [[['2024-01-01', '2024-03-30'], ['2024-04-01', '2024-06-30']], '2024-02-01', '2024-05-01', false],
    [[['2024-01-01', '2024-05-31'], ['2024-03-01', '2024-04-01']], '2024-02-01', '2024-05-01', true],
    [[], '2024-02-01', '2024-05-01', false],
  ])('coverage %j contains %s..%s: %s', (ranges, start, end, covered) => {
    for (const [s, e] of ranges) bars.addCoverage('TSLA', '1d', s as string, e as string);
    expect(bars.isCovered('TSLA', '1d', start, end)).toBe(covered);
  });

  it('forgets a symbol’s ingested days and coverage, keeping its bars', () => {
    bars.upsert('1d', [bar('2024-01-02', 1)]);
    bars.markIngested('TSLA', '1d', { dataset: 'd', key: 'k', etag: 'e', day: '2024-01-02' }, 1);
    bars.addCoverage('TSLA', '1d', '2024-01-01', '2024-01-31');
    bars.clearSymbol('TSLA', '1d');
    expect(bars.ingestedDays('TSLA', '1d', '2024-01-01', '2024-01-31').size).toBe(0);
    expect(bars.isCovered('TSLA', '1d', '2024-01-02', '2024-01-02')).toBe(false);
    expect(bars.read('TSLA', '1d', '2024-01-01', '2024-01-31')).toHaveLength(1);
  });
});

describe('openDatabase', () => {
  it('uses WAL and a busy timeout so several processes can share the cache', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(10_000);
  });

  it('refuses a cache written with another schema instead of misreading it', () => {
    db.pragma('user_version = 1');
    db.close();
    expect(() => openDatabase(dir)).toThrow(/another version of preload-market-data \(schema 1, expected 7\)/);
    db = new Database(join(dir, 'other.sqlite')); // for afterEach
  });

  it.each([
    [2, SCHEMA_2],
    [3, SCHEMA_3],
  ])('brings a cache of schema %i up in place: its bars stay and read the same, the new tables appear', (version, schema) => {
    db.close();
    const old = mkdtempSync(join(tmpdir(), 'pmd-cache-old-'));
    const legacy = new Database(join(old, 'market-data.sqlite'));
    legacy.pragma('journal_mode = WAL');
    legacy.exec(schema);
    const insert = legacy.prepare('INSERT INTO bars VALUES (?, ?, ?, ?, 1, 2, 0.5, ?, 10.5, ?)');
    const days = ['2024-01-02', '2024-01-03', '2024-01-04'];
    for (const [i, day] of days.entries()) {
      insert.run('TSLA', '1d', Date.parse(`${day}T05:00:00Z`), day, 7 + i, i === 1 ? null : 3);
      insert.run('X:BTC-USD', '1d', Date.parse(`${day}T00:00:00Z`), day, 40_000 + i, 9);
      for (let m = 0; m < 3; m++) insert.run('TSLA', '1m', Date.parse(`${day}T14:30:00Z`) + m * 60_000, day, 100 + m, 1);
    }
    legacy.prepare("INSERT INTO ingested_days VALUES ('TSLA', '1d', '2024-01-02', 'd', 'k', 'e', 1)").run();
    const before = legacy.prepare('SELECT * FROM bars ORDER BY symbol, interval, time').all();
    legacy.pragma(`user_version = ${version}`);
    legacy.close();

    db = openDatabase(old);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT * FROM bars ORDER BY symbol, interval, time').all()).toEqual(before);
    const migrated = new BarStore(db);
    expect(migrated.read('TSLA', '1d', '2024-01-01', '2024-12-31').map((b) => [b.close, b.transactions])).toEqual([[7, 3], [8, null], [9, 3]]);
    expect(migrated.read('TSLA', '1m', '2024-01-03', '2024-01-03').map((b) => b.close)).toEqual([100, 101, 102]);
    expect(migrated.symbols('1d')).toEqual(['TSLA', 'X:BTC-USD']);
    expect(migrated.symbols('1m')).toEqual(['TSLA']);
    expect(migrated.ingestedDays('TSLA', '1d', '2024-01-01', '2024-01-31')).toEqual(new Map([['2024-01-02', 'e']]));
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['bars', 'bar_symbols', 'splits', 'dividends', 'actions_fetched', 'file_findings']));
    expect(names.filter((n) => n.startsWith('bars_'))).toEqual(['bars_by_ticker']);
    db.close();
    rmSync(old, { recursive: true, force: true });
    db = openDatabase(dir); // for afterEach
  });

  it('brings a cache of schema 4 up in place: the findings table appears, its bars are not copied again', () => {
    db.close();
    const old = mkdtempSync(join(tmpdir(), 'pmd-cache-v4-'));
    const v4 = openDatabase(old);
    v4.prepare("INSERT INTO bars (interval, day, symbol, time, open, high, low, close, volume, transactions) VALUES ('1d', '2024-01-02', 'TSLA', 1, 1, 2, 0.5, 1.5, 10, 3)").run();
    // As schema 4 left it: no findings table.
    v4.exec('DROP TABLE file_findings');
    v4.pragma('user_version = 4');
    v4.close();
    db = openDatabase(old);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'file_findings'").get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT symbol, close FROM bars').all()).toEqual([{ symbol: 'TSLA', close: 1.5 }]);
    db.close();
    rmSync(old, { recursive: true, force: true });
    db = openDatabase(dir); // for afterEach
  });

  it('brings a cache of schema 6 up in place: actions_market appears, its per-ticker actions stay and still count', async () => {
    db.close();
    const old = mkdtempSync(join(tmpdir(), 'pmd-cache-v6-'));
    const v6 = openDatabase(old);
    v6.prepare("INSERT INTO bars (interval, day, symbol, time, open, high, low, close, volume, transactions) VALUES ('1d', '2024-01-02', 'TSLA', 1, 1, 2, 0.5, 1.5, 10, 3)").run();
    v6.prepare("INSERT INTO splits VALUES ('TSLA', '2024-06-03', 1, 3, 'forward_split', NULL, 's1')").run();
    v6.prepare("INSERT INTO actions_fetched VALUES ('TSLA', '2026-11-20T10:00:00.000Z')").run();
    // As schema 6 left it: no actions_market.
    v6.exec('DROP TABLE actions_market');
    v6.pragma('user_version = 6');
    v6.close();
    db = openDatabase(old);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'actions_market'").get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT symbol, close FROM bars').all()).toEqual([{ symbol: 'TSLA', close: 1.5 }]);
    const actions = new ActionStore(db);
    expect(actions.get('TSLA')).toMatchObject({ fetchedAt: '2026-11-20T10:00:00.000Z', splits: [{ executionDate: '2024-06-03', splitTo: 3 }], dividends: [] });
    expect(actions.allFetchedAt()).toBeUndefined();
    expect(actions.fetchedAt(['TSLA', 'AAPL'])).toEqual(new Map([['TSLA', '2026-11-20T10:00:00.000Z']]));
    db.close();
    rmSync(old, { recursive: true, force: true });
    db = openDatabase(dir); // for afterEach
  });

  it('lets several processes open one fresh cache at the same moment', async () => {
    // Threads stand in for processes: each has its own connection. They are held at a gate
    // and released together, many rounds, because the race is in the first milliseconds.
    const source = pathToFileURL(join(import.meta.dirname, '../../../dist/store/sqlite/db.js')).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.source).then(({ openDatabase }) => {
        const gate = new Int32Array(workerData.gate);
        Atomics.add(gate, 1, 1);
        Atomics.wait(gate, 0, 0);
        try { openDatabase(workerData.dir).close(); parentPort.postMessage('ok'); }
        catch (error) { parentPort.postMessage(String(error.message)); }
      });`;
    const OPENERS = 6;
    const failures: string[] = [];
    for (let round = 0; round < 15; round++) {
      const fresh = join(dir, `fresh-${round}`);
      const gate = new SharedArrayBuffer(8);
      const counters = new Int32Array(gate);
      const answers = Array.from(
        { length: OPENERS },
        () =>
          new Promise<string>((resolve, reject) => {
            const worker = new Worker(code, { eval: true, workerData: { source, dir: fresh, gate } });
            worker.once('message', (m: string) => {
              worker.terminate().then(() => resolve(m), reject);
            });
            worker.once('error', reject);
          }),
      );
      while (Atomics.load(counters, 1) < OPENERS) await new Promise((r) => setTimeout(r, 2));
      Atomics.store(counters, 0, 1);
      Atomics.notify(counters, 0);
      failures.push(...(await Promise.all(answers)).filter((a) => a !== 'ok'));
    }
    expect(failures).toEqual([]);
  }, 30_000);

  it('reports a cache directory that cannot be created', () => {
    // A regular file where a parent directory should be: fails even for root.
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => openDatabase(join(file, 'cache'))).toThrow(ConfigurationError);
    expect(() => openDatabase(join(file, 'cache'))).toThrow(/not writable \(ENOTDIR\)/);
  });
});

describe('ActionStore', () => {
  const split = (ticker: string, executionDate: string, id: string) => ({
    ticker, executionDate, splitFrom: 1, splitTo: 3, adjustmentType: 'forward_split', historicalAdjustmentFactor: 1 / 3, id,
  });
  const dividend = (ticker: string, exDividendDate: string, id: string) => ({
    ticker, exDividendDate, cashAmount: 0.24, currency: 'USD', distributionType: 'recurring', frequency: 4,
    payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: 0.24, historicalAdjustmentFactor: null, id,
  });

  it('answers undefined for a ticker never fetched, and empty lists for one fetched with none', () => {
    const actions = new ActionStore(db);
    expect(actions.get('TSLA')).toBeUndefined();
    actions.replace(new Map([['TSLA', { splits: [], dividends: [] }]]), '2026-12-01T00:00:00.000Z');
    expect(actions.get('TSLA')).toEqual({ splits: [], dividends: [], fetchedAt: '2026-12-01T00:00:00.000Z' });
  });

  it("replaces a ticker's actions whole (a row the provider dropped goes), keeping duplicates as given", () => {
    const actions = new ActionStore(db);
    const first = { splits: [split('TSLA', '2022-08-25', 'a'), split('TSLA', '2022-08-25', 'b'), split('TSLA', '2020-08-31', 'c')], dividends: [dividend('TSLA', '2021-01-04', 'd')] };
    actions.replace(new Map([['TSLA', first], ['AAPL', { splits: [], dividends: [dividend('AAPL', '2024-02-09', 'e')] }]]), '2026-11-30T00:00:00.000Z');
    const stored = actions.get('TSLA');
    expect(stored?.splits.map((s) => s.id)).toEqual(['c', 'a', 'b']);
    expect(stored?.dividends).toEqual([dividend('TSLA', '2021-01-04', 'd')]);
    actions.replace(new Map([['TSLA', { splits: [split('TSLA', '2022-08-25', 'a')], dividends: [] }]]), '2026-12-01T00:00:00.000Z');
    expect(actions.get('TSLA')).toEqual({ splits: [split('TSLA', '2022-08-25', 'a')], dividends: [], fetchedAt: '2026-12-01T00:00:00.000Z' });
    // Another ticker's rows are untouched by TSLA's replacement.
    expect(actions.get('AAPL')?.dividends.map((d) => d.id)).toEqual(['e']);
    expect(actions.fetchedAt(['TSLA', 'AAPL', 'MSFT'])).toEqual(new Map([['TSLA', '2026-12-01T00:00:00.000Z'], ['AAPL', '2026-11-30T00:00:00.000Z']]));
  });

  it('stores nothing of a batch that fails halfway', () => {
    const actions = new ActionStore(db);
    actions.replace(new Map([['TSLA', { splits: [split('TSLA', '2022-08-25', 'a')], dividends: [] }]]), '2026-11-30T00:00:00.000Z');
    const broken = { splits: [{ ...split('AAPL', '2020-08-31', 'x'), splitTo: null as unknown as number }], dividends: [] };
    expect(() =>
      actions.replace(new Map([['TSLA', { splits: [], dividends: [] }], ['AAPL', broken]]), '2026-12-01T00:00:00.000Z'),
    ).toThrow(/NOT NULL/);
    expect(actions.get('TSLA')?.splits.map((s) => s.id)).toEqual(['a']);
    expect(actions.get('AAPL')).toBeUndefined();
  });
});
