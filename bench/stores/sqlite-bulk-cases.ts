// The cases of bench/stores/sqlite-bulk.ts, each run in a child process of its own (its peak RSS is its
// own): candidate layouts and insert methods written here, and the shipped code (SqliteStore,
// LocalQueue.complete and openFile) for the rows that say so.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { BarStore } from '../../src/store/sqlite/bars.js';
import { ColumnInserter } from '../../src/store/sqlite/bulk.js';
import { SymbolList } from '../../src/store/sqlite/symbols.js';
import { CACHE_FILE, openDatabase, type Db } from '../../src/store/sqlite/db.js';
import { SqliteStore, openSqliteStore } from '../../src/store/sqlite/store.js';
import { allScope } from '../../src/store/scope.js';
import type { JobSpec, Store } from '../../src/store/types.js';
import type { DayFile, RowColumns } from '../../src/types.js';
import { READ_TICKER, dayFile, minuteFile, tickers, weekdays } from './sqlite-bulk-data.js';

export type Layout = 'current' | 'day-index' | 'day-major';
export type Method = 'row' | 'values' | 'json';

export type Case =
  | {
      kind: 'ingest';
      layout: Layout;
      method: Method;
      files: number;
      tickers: number;
      txFiles: number;
      pragmas: Record<string, string | number>;
      /** day-major: bar_symbols kept by the shipped SymbolList (a JS Set of the listed) or by one SQL statement a day. */
      listing?: 'set' | 'sql';
    }
  | { kind: 'shipped'; files: number; tickers: number; batch: number }
  | { kind: 'sink'; staging: 'temp' | 'temp-memory' | 'main'; tickers: number; chunk: number }
  | { kind: 'read-minute'; files: number; tickers: number };

export interface CaseResult {
  rows: number;
  /** Wall and CPU time of the store's calls alone (generating the rows is not counted). */
  storeMs: number;
  storeCpuMs: number;
  bytes: number;
  rssMb: number;
  /** The child's whole CPU (user + system), generating the rows included. */
  cpuMs: number;
  extra: Record<string, number | string>;
}

const DATASET = 'us_stocks_sip/day_aggs_v1';
const COLUMNS = 'symbol TEXT NOT NULL, interval TEXT NOT NULL, time INTEGER NOT NULL, day TEXT NOT NULL, open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, transactions INTEGER';
/** Schema 3's bars (the layout being replaced), and the same key with the day index the brief suggested. */
const SYMBOL_MAJOR: Record<Exclude<Layout, 'day-major'>, string> = {
  current: `CREATE TABLE bars (${COLUMNS}, PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID; CREATE INDEX bars_by_day ON bars (symbol, interval, day);`,
  'day-index': `CREATE TABLE bars (${COLUMNS}, PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID; CREATE INDEX bars_by_day ON bars (interval, day);`,
};
const STOCKS = "instr(symbol, ':') = 0";
const READS = 20;

/** Store time, measured around the store's calls only. */
class Clock {
  ms = 0;
  cpuMs = 0;
  time<T>(fn: () => T): T {
    const cpu = process.cpuUsage();
    const t = performance.now();
    try {
      return fn();
    } finally {
      this.ms += performance.now() - t;
      const d = process.cpuUsage(cpu);
      this.cpuMs += (d.user + d.system) / 1000;
    }
  }
  async timeAsync(fn: () => Promise<void>): Promise<void> {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await fn();
    this.ms += performance.now() - t;
    const d = process.cpuUsage(cpu);
    this.cpuMs += (d.user + d.system) / 1000;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/** Median ms of READS warm calls of each reader (after one call each to warm the cache), taking turns. */
function timeReads<K extends string>(readers: Record<K, () => number>): Record<K, { ms: number; rows: number }> {
  const entries = Object.entries(readers) as Array<[K, () => number]>;
  const ms = new Map<K, number[]>(entries.map(([k]) => [k, []]));
  const rows = new Map<K, number>(entries.map(([k, read]) => [k, read()]));
  for (let i = 0; i < READS; i++) {
    for (const [k, read] of entries) {
      const t = performance.now();
      rows.set(k, read());
      ms.get(k)?.push(performance.now() - t);
    }
  }
  return Object.fromEntries(entries.map(([k]) => [k, { ms: median(ms.get(k) ?? []), rows: rows.get(k) ?? 0 }])) as Record<K, { ms: number; rows: number }>;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

/**
 * A cache file with `page_size` fixed before it is created, then opened as the shipped code opens
 * it (schema 4), with the case's other pragmas on top.
 */
function openDayMajor(dir: string, pragmas: Record<string, string | number>): Db {
  const { page_size: pageSize, ...rest } = pragmas;
  if (pageSize !== undefined) {
    const pre = new Database(path.join(dir, CACHE_FILE));
    pre.pragma(`page_size = ${pageSize}`);
    pre.pragma('journal_mode = WAL');
    pre.close();
  }
  const db = openDatabase(dir);
  for (const [k, v] of Object.entries(rest)) db.pragma(`${k} = ${v}`);
  return db;
}

function openSymbolMajor(dir: string, layout: Exclude<Layout, 'day-major'>, pragmas: Record<string, string | number>): Db {
  const db = new Database(path.join(dir, CACHE_FILE));
  if (pragmas['page_size'] !== undefined) db.pragma(`page_size = ${pragmas['page_size']}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const [k, v] of Object.entries(pragmas)) if (k !== 'page_size') db.pragma(`${k} = ${v}`);
  db.exec(SYMBOL_MAJOR[layout]);
  return db;
}

/** Inserts one file's columns by `method` into `bars` (interval '1d'). */
function inserter(db: Db, method: Method): (c: RowColumns, day: string) => void {
  const head = 'INSERT OR REPLACE INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)';
  if (method === 'values') {
    const values = new ColumnInserter(db, head, "(?, '1d', ?, @day, ?, ?, ?, ?, ?, ?)");
    return (c, day) => values.insert(c, { day });
  }
  if (method === 'row') {
    const one = db.prepare(`${head} VALUES (?, '1d', ?, ?, ?, ?, ?, ?, ?, ?)`);
    return (c, day) => {
      for (let i = 0; i < c.length; i++) one.run(c.ticker[i], c.time[i], day, c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], Number.isNaN(c.transactions[i]) ? null : c.transactions[i]);
    };
  }
  const json = db.prepare(
    `${head} SELECT value->>0, '1d', value->>1, @day, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7 FROM json_each(@rows)`,
  );
  return (c, day) => {
    const rows = new Array<unknown>(c.length);
    for (let i = 0; i < c.length; i++) rows[i] = [c.ticker[i], c.time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], c.transactions[i]];
    json.run({ rows: JSON.stringify(rows), day });
  };
}

/** bar_symbols of a day-major file: through the shipped SymbolList, or one statement a day. */
function lister(db: Db, by: 'set' | 'sql'): (c: RowColumns, day: string) => void {
  if (by === 'set') {
    const listed = new SymbolList(db);
    return (c) => listed.add('1d', c.ticker);
  }
  const q = db.prepare("INSERT OR IGNORE INTO bar_symbols (interval, symbol) SELECT DISTINCT interval, symbol FROM bars WHERE interval = '1d' AND day = ?");
  return (_c, day) => q.run(day);
}

/** A candidate: files of the whole market into a layout, `txFiles` files a transaction. */
function ingest(dir: string, k: Extract<Case, { kind: 'ingest' }>): CaseResult {
  const db = k.layout === 'day-major' ? openDayMajor(dir, k.pragmas) : openSymbolMajor(dir, k.layout, k.pragmas);
  const insert = inserter(db, k.method);
  // Today's layout finds a day only ticker by ticker (its index leads with the symbol).
  const perTicker = db.prepare('DELETE FROM bars WHERE symbol = ? AND interval = ? AND day = ?');
  const byDay = db.prepare(`DELETE FROM bars WHERE interval = '1d' AND day = ? AND ${STOCKS}`);
  const list = k.layout === 'day-major' ? lister(db, k.listing ?? 'set') : undefined;
  const names = tickers(k.tickers);
  const days = weekdays(k.files);
  const clock = new Clock();
  const deciles: number[] = [];
  let rows = 0;
  let pending: Array<[string, RowColumns]> = [];
  days.forEach((day, f) => {
    pending.push([day, dayFile(names, day, f)]);
    if (pending.length < k.txFiles && f < days.length - 1) return;
    const batch = pending;
    pending = [];
    clock.time(() =>
      db.transaction(() => {
        for (const [d, c] of batch) {
          if (k.layout === 'current') for (const t of c.ticker) perTicker.run(t, '1d', d);
          else byDay.run(d);
          insert(c, d);
          list?.(c, d);
        }
      })(),
    );
    for (const [, c] of batch) rows += c.length;
    if (Math.floor(((f + 1) * 10) / days.length) > deciles.length) deciles.push(clock.ms);
  });
  db.pragma('wal_checkpoint(TRUNCATE)');
  const first = days[0] as string;
  const last = days.at(-1) as string;
  const read =
    k.layout === 'day-major'
      ? (() => {
          const bars = new BarStore(db);
          return () => bars.read(READ_TICKER, '1d', first, last).length;
        })()
      : (() => {
          // The key serves the read (`+day`: not the day index), bounded by time: a day's bars lie within 36 h of its midnight.
          const q = db.prepare(
            "SELECT time, open, high, low, close, volume, transactions FROM bars WHERE symbol = ? AND interval = '1d' AND time >= ? AND time < ? AND +day >= ? AND +day <= ? ORDER BY time",
          );
          const from = Date.parse(`${first}T00:00:00Z`) - 36 * 3_600_000;
          const to = Date.parse(`${last}T00:00:00Z`) + 60 * 3_600_000;
          return () => q.all(READ_TICKER, from, to, first, last).length;
        })();
  const { read: reads } = timeReads({ read });
  db.close();
  // Rows/s over the first and the last tenth of the files: does it hold as the table grows?
  const tenth = rows / 10;
  const firstDecile = deciles[0] ?? clock.ms;
  const lastDecile = clock.ms - (deciles.at(-2) ?? 0);
  return {
    rows,
    storeMs: clock.ms,
    storeCpuMs: clock.cpuMs,
    bytes: dirBytes(dir),
    rssMb: 0,
    cpuMs: 0,
    extra: { readMs: reads.ms, readRows: reads.rows, firstTenthRowsPerS: (tenth / firstDecile) * 1000, lastTenthRowsPerS: (tenth / lastDecile) * 1000 },
  };
}

function allJob(interval: '1d' | '1m'): JobSpec {
  const dataset = interval === '1d' ? DATASET : 'us_stocks_sip/minute_aggs_v1';
  return { job: `all/${interval}`, dataset, interval, tickers: [allScope(dataset)], all: true };
}

function fileOf(day: string, interval: string): DayFile {
  return { key: `bench/${interval}/${day}.csv.gz`, day, size: 1, etag: `etag-${day}`, lastModified: undefined };
}

/**
 * The shipped path: LocalQueue.complete with each file's columns, `batch` files a transaction;
 * then reads of one ticker in this whole-market cache and in the same rows laid out as schema 3.
 */
async function shipped(dir: string, k: Extract<Case, { kind: 'shipped' }>): Promise<CaseResult> {
  const store: Store = openSqliteStore(dir);
  const job = allJob('1d');
  await store.prepareJob(job, { clear: false });
  const queue = await store.openQueue([job]);
  const names = tickers(k.tickers);
  const days = weekdays(k.files);
  const clock = new Clock();
  let rows = 0;
  for (let f = 0; f < days.length; f += k.batch) {
    const batch = days.slice(f, f + k.batch).map((day, i) => ({ job, file: fileOf(day, '1d'), rows: [], columns: dayFile(names, day, f + i) }));
    await clock.timeAsync(() => queue.complete(batch));
    for (const c of batch) rows += c.columns.length;
  }
  const first = days[0] as string;
  const last = days.at(-1) as string;
  // A republished day in the middle, with every tenth ticker dropped.
  const mid = days[Math.floor(days.length / 2)] as string;
  const full = dayFile(names, mid, 99_999);
  const keep = full.ticker.map((t, i) => (i % 10 === 0 && t !== READ_TICKER ? -1 : i)).filter((i) => i >= 0);
  const republished = pick(full, keep);
  const t0 = performance.now();
  await queue.complete([{ job, file: { ...fileOf(mid, '1d'), etag: 'etag-new' }, rows: [], columns: republished }]);
  const republishMs = performance.now() - t0;
  const l0 = performance.now();
  const listed = (await store.listSymbols('1d')).length;
  const listMs = performance.now() - l0;
  await queue.close();
  await store.close();
  const bytes = dirBytes(dir);

  // Both layouts read side by side in one file: schema 4's table, and a copy in schema 3's.
  const db = new Database(path.join(dir, CACHE_FILE));
  const copy0 = performance.now();
  db.exec(`CREATE TABLE bars_v3 (${COLUMNS}, PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID;
    INSERT INTO bars_v3 SELECT symbol, interval, time, day, open, high, low, close, volume, transactions FROM bars ORDER BY symbol, interval, time;
    CREATE INDEX bars_v3_by_day ON bars_v3 (symbol, interval, day);`);
  const copyMs = performance.now() - copy0;
  const bars = new BarStore(db);
  const v3 = db.prepare("SELECT time, open, high, low, close, volume, transactions FROM bars_v3 WHERE symbol = ? AND interval = '1d' AND day >= ? AND day <= ? ORDER BY time");
  const { readNew, readOld, readFrom0 } = timeReads({
    readNew: () => bars.read(READ_TICKER, '1d', first, last).length,
    readOld: () => v3.all(READ_TICKER, first, last).length,
    readFrom0: () => bars.read(READ_TICKER, '1d', '0000-01-01', last).length,
  });
  db.close();
  return {
    rows,
    storeMs: clock.ms,
    storeCpuMs: clock.cpuMs,
    bytes,
    rssMb: 0,
    cpuMs: 0,
    extra: {
      readMs: readNew.ms,
      readRows: readNew.rows,
      readSchema3Ms: readOld.ms,
      readFrom0000Ms: readFrom0.ms,
      republishMs,
      listSymbolsMs: listMs,
      listed,
      schema3CopyMs: copyMs,
    },
  };
}

function pick(c: RowColumns, idx: number[]): RowColumns {
  const f = (a: Float64Array) => Float64Array.from(idx, (i) => a[i] as number);
  return {
    length: idx.length,
    ticker: idx.map((i) => c.ticker[i] as string),
    time: f(c.time),
    open: f(c.open),
    high: f(c.high),
    low: f(c.low),
    close: f(c.close),
    volume: f(c.volume),
    transactions: f(c.transactions),
  };
}

/** One large minute file staged chunk by chunk, then committed: the shipped sink, or a staging table in the cache file. */
async function sink(dir: string, k: Extract<Case, { kind: 'sink' }>): Promise<CaseResult> {
  const names = tickers(k.tickers);
  const day = weekdays(1)[0] as string;
  // Chunks made as they are written (as a download inflates them), so RSS is the store's: ~k.chunk rows each.
  const perChunk = Math.max(1, Math.round(k.chunk / 630));
  const chunks = function* (): Generator<RowColumns> {
    for (let i = 0; i < names.length; i += perChunk) yield minuteFile(names.slice(i, i + perChunk), day, i);
  };
  let rows = 0;
  const write = new Clock();
  const commit = new Clock();
  const rssAt: number[] = [];
  const job = allJob('1m');
  if (k.staging === 'main') {
    const db = openDatabase(dir);
    db.exec(`CREATE TABLE stage (symbol TEXT NOT NULL, time INTEGER NOT NULL, open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL,
      close REAL NOT NULL, volume REAL NOT NULL, transactions INTEGER)`);
    const insert = new ColumnInserter(db, 'INSERT INTO main.stage', '(?, ?, ?, ?, ?, ?, ?, ?)');
    for (const c of chunks()) {
      write.time(() => db.transaction(() => insert.insert(c, {}))());
      rows += c.length;
      rssAt.push(process.memoryUsage.rss());
    }
    commit.time(() =>
      db.transaction(() => {
        db.prepare(`INSERT OR REPLACE INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
          SELECT symbol, '1m', time, ?, open, high, low, close, volume, transactions FROM main.stage ORDER BY rowid`).run(day);
        db.exec('DROP TABLE main.stage');
      }).immediate(),
    );
    db.close();
  } else {
    const db = openDatabase(dir);
    // The temp database in memory instead of its file: what the staging's RSS would be then.
    if (k.staging === 'temp-memory') db.pragma('temp_store = MEMORY');
    const store: Store = new SqliteStore(db, dir);
    const queue = await store.openQueue([job]);
    const s = await queue.openFile(job, fileOf(day, '1m'));
    for (const c of chunks()) {
      await write.timeAsync(() => s.write(c));
      rows += c.length;
      rssAt.push(process.memoryUsage.rss());
    }
    await commit.timeAsync(() => s.commit());
    await queue.close();
    await store.close();
  }
  const half = rssAt[Math.floor(rssAt.length / 2)] ?? 0;
  const end = rssAt.at(-1) ?? 0;
  return {
    rows,
    storeMs: write.ms + commit.ms,
    storeCpuMs: write.cpuMs + commit.cpuMs,
    bytes: dirBytes(dir),
    rssMb: 0,
    cpuMs: 0,
    extra: {
      writeRowsPerS: (rows / write.ms) * 1000,
      commitMs: commit.ms,
      commitRowsPerS: (rows / commit.ms) * 1000,
      rssHalfMb: half / 2 ** 20,
      rssEndMb: end / 2 ** 20,
    },
  };
}

/** A month of minute files of `tickers` tickers: one ticker's month read from schema 4 and from schema 3's layout. */
async function readMinute(dir: string, k: Extract<Case, { kind: 'read-minute' }>): Promise<CaseResult> {
  const store: Store = openSqliteStore(dir);
  const job = allJob('1m');
  await store.prepareJob(job, { clear: false });
  const queue = await store.openQueue([job]);
  const names = tickers(k.tickers);
  const days = weekdays(k.files);
  const clock = new Clock();
  let rows = 0;
  for (const [f, day] of days.entries()) {
    const columns = minuteFile(names, day, f);
    await clock.timeAsync(() => queue.complete([{ job, file: fileOf(day, '1m'), rows: [], columns }]));
    rows += columns.length;
  }
  await queue.close();
  await store.close();
  const db = new Database(path.join(dir, CACHE_FILE));
  db.exec(`CREATE TABLE bars_v3 (${COLUMNS}, PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID;
    INSERT INTO bars_v3 SELECT symbol, interval, time, day, open, high, low, close, volume, transactions FROM bars ORDER BY symbol, interval, time;
    CREATE INDEX bars_v3_by_day ON bars_v3 (symbol, interval, day);`);
  const bars = new BarStore(db);
  const v3 = db.prepare("SELECT time, open, high, low, close, volume, transactions FROM bars_v3 WHERE symbol = ? AND interval = '1m' AND day >= ? AND day <= ? ORDER BY time");
  const first = days[0] as string;
  const last = days.at(-1) as string;
  const { readNew, readOld } = timeReads({
    readNew: () => bars.read(READ_TICKER, '1m', first, last).length,
    readOld: () => v3.all(READ_TICKER, first, last).length,
  });
  db.close();
  return {
    rows,
    storeMs: clock.ms,
    storeCpuMs: clock.cpuMs,
    bytes: dirBytes(dir),
    rssMb: 0,
    cpuMs: 0,
    extra: { readMs: readNew.ms, readRows: readNew.rows, readSchema3Ms: readOld.ms },
  };
}

/** Runs one case in `dir` (created if needed). */
export async function runCase(dir: string, k: Case): Promise<CaseResult> {
  mkdirSync(dir, { recursive: true });
  const r = k.kind === 'ingest' ? ingest(dir, k) : k.kind === 'shipped' ? await shipped(dir, k) : k.kind === 'sink' ? await sink(dir, k) : await readMinute(dir, k);
  const u = process.resourceUsage();
  return { ...r, rssMb: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 };
}
