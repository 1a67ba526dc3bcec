/**
 * `npm run bench -- ticker-reads`: one ticker's 5 years read from a whole-market SQLite store
 * (`--all`), with and without the index by ticker (src/store/sqlite/ticker-index.ts), and what the
 * index costs the `--all` ingest, the disk and a day's sync; side by side in one run, on one file.
 *
 * The shipped path, step by step: LocalQueue offered every day file (so the run drops the index)
 * takes the files one a transaction (the ingest, as schema 5 took it: no index); reads of random
 * tickers then seek day by day (schema 5's read); a day more is the sync without the index;
 * Store.buildReadIndex builds the index (what a server does before it listens); the same reads
 * then go along it; a day more is the sync with it. Reads "in page cache" after the file was read whole; "evicted" with the file
 * dropped from the OS page cache before each read (`dd iflag=nocache count=0` after `sync`, the
 * file's own pages only) and a fresh connection, as after a boot.
 *
 * --candidates also measures the layouts not chosen, each ingesting into a file of its own:
 * the same index kept up row by row through the whole ingest, and an index by (month, ticker)
 * kept up row by row (a ticker's 5 years in ~60 seeks). Each is stopped after --cap-s of store time.
 *   --files N      day files (default 1255: 5 years)      --tickers N   tickers a file (default 11000)
 *   --reads N      reads in page cache (default 300)      --cold N      evicted reads (default 40)
 *   --candidates   also the layouts not chosen            --cap-s N     their cap (default 300)
 *   --out FILE     default bench/results/ticker-reads.json
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BarStore } from '../../src/store/sqlite/bars.js';
import { CACHE_FILE, openDatabase, type Db } from '../../src/store/sqlite/db.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { TICKER_INDEX, TICKER_INDEX_DDL } from '../../src/store/sqlite/ticker-index.js';
import { allScope } from '../../src/store/scope.js';
import type { JobSpec, WorkQueue } from '../../src/store/types.js';
import type { DayFile } from '../../src/types.js';
import { dayFile, rng, tickers, weekdays } from './sqlite-bulk-data.js';
import { positiveInt } from '../lib/flags.js';

const { values: flags } = parseArgs({
  options: {
    files: { type: 'string' },
    tickers: { type: 'string' },
    reads: { type: 'string' },
    cold: { type: 'string' },
    candidates: { type: 'boolean' },
    'cap-s': { type: 'string' },
    out: { type: 'string' },
  },
});

const int = (name: 'files' | 'tickers' | 'reads' | 'cold' | 'cap-s', fallback: number): number => positiveInt(flags, name, fallback);

const FILES = int('files', 1255);
const T = int('tickers', 11_000);
const WARM = int('reads', 300);
const COLD = int('cold', 40);
const CAP_MS = int('cap-s', 300) * 1000;
const OUT = flags.out ?? fileURLToPath(new URL('../results/ticker-reads.json', import.meta.url));
const DATASET = 'us_stocks_sip/day_aggs_v1';
const job: JobSpec = { job: 'all/1d', dataset: DATASET, interval: '1d', tickers: [allScope(DATASET)], all: true };
const names = tickers(T);
// Two days past the window: the syncs.
const days = weekdays(FILES + 2);
const first = days[0] as string;
const last = days[FILES - 1] as string;
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const scratch = mkdtempSync(path.join(tmpdir(), 'pmd-ticker-reads-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const fileOf = (f: number): DayFile => ({ key: `bench/1d/${days[f]}.csv.gz`, day: days[f] as string, size: 1, etag: `etag-${days[f]}`, lastModified: undefined });
const bytes = (dir: string): number => statSync(path.join(dir, CACHE_FILE)).size;

/** Commits day file `f` through `queue`; returns the store's ms. */
async function commitDay(queue: WorkQueue, f: number): Promise<{ ms: number; rows: number }> {
  const columns = dayFile(names, days[f] as string, f);
  const t = performance.now();
  await queue.complete([{ job, file: fileOf(f), rows: [], columns }]);
  return { ms: performance.now() - t, rows: columns.length };
}

/** Drops the cache file's pages from the OS page cache (after writing back any dirty ones). */
function evict(file: string): void {
  spawnSync('sync', [file]);
  const r = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  if (r.status !== 0) throw new Error(`dd could not evict ${file}: ${r.stderr.toString()}`);
}

function warmUp(file: string): void {
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

type Read = (db: Db, ticker: string) => number;
const shippedRead: Read = (db, ticker) => new BarStore(db).read(ticker, '1d', first, last).length;
/** The (month, ticker) candidate: a seek per month of the window. */
const MONTH_INDEX = 'bars_by_month';
const monthRead: Read = (db, ticker) =>
  db
    .prepare(
      `WITH m(month) AS (SELECT DISTINCT substr(day, 1, 7) FROM bar_days WHERE interval = '1d' AND day >= @first AND day <= @last)
       SELECT b.time, b.open, b.high, b.low, b.close, b.volume, b.transactions FROM m CROSS JOIN bars b INDEXED BY ${MONTH_INDEX}
         ON b.interval = '1d' AND substr(b.day, 1, 7) = m.month AND b.symbol = @ticker
       WHERE b.day >= @first AND b.day <= @last ORDER BY m.month, b.time`,
    )
    .all({ ticker, first, last }).length;

interface Reads {
  warmMedianMs: number;
  warmP99Ms: number;
  evictedMedianMs: number;
  evictedP99Ms: number;
  barsPerRead: number;
}

/** Random tickers' whole window, in page cache then evicted; the same tickers (seeded) for every layout. */
function measureReads(dir: string, read: Read): Reads {
  const file = path.join(dir, CACHE_FILE);
  const random = rng(42);
  const pick = (): string => names[Math.floor(random() * names.length)] as string;
  warmUp(file);
  const db = openDatabase(dir);
  const warm: number[] = [];
  let bars = 0;
  for (let i = 0; i < WARM; i++) {
    const ticker = pick();
    const t = performance.now();
    bars += read(db, ticker);
    warm.push(performance.now() - t);
  }
  db.close();
  const cold: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const ticker = pick();
    evict(file);
    const t = performance.now();
    const fresh = openDatabase(dir);
    read(fresh, ticker);
    fresh.close();
    cold.push(performance.now() - t);
  }
  return { warmMedianMs: pct(warm, 0.5), warmP99Ms: pct(warm, 0.99), evictedMedianMs: pct(cold, 0.5), evictedP99Ms: pct(cold, 0.99), barsPerRead: bars / WARM };
}

/** A day's sync into the store (one whole-market file through a run's queue), the file in page cache or evicted first. */
async function syncDay(dir: string, f: number, evicted: boolean): Promise<number> {
  const file = path.join(dir, CACHE_FILE);
  if (evicted) evict(file);
  else warmUp(file);
  const store = new SqliteStore(openDatabase(dir), dir);
  const queue = await store.openQueue();
  await queue.offer(job, [fileOf(f)]);
  await queue.claim(1);
  const { ms } = await commitDay(queue, f);
  await queue.close();
  await store.close();
  return ms;
}

/** Same rows, same order, as the day-by-day read (checked on a few tickers before timing). */
function sameRows(dir: string, read: (db: Db, ticker: string) => unknown[]): void {
  const db = openDatabase(dir);
  for (const ticker of ['TSLA', names[7] as string, names[T - 3] as string]) {
    const want = JSON.stringify(db.prepare(`SELECT b.time, b.open, b.high, b.low, b.close, b.volume, b.transactions FROM bar_days d CROSS JOIN bars b
      ON b.interval = d.interval AND b.day = d.day AND b.symbol = ? WHERE d.interval = '1d'`).all(ticker));
    if (JSON.stringify(read(db, ticker)) !== want) throw new Error(`${ticker}: the read differs from the day-by-day rows`);
  }
  db.close();
}

// The shipped path.
const dir = path.join(scratch, 'shipped');
log(`ingest: ${FILES} day files of ${T} tickers, one a transaction, the index dropped (as a large --all run does)`);
const store = new SqliteStore(openDatabase(dir), dir);
await store.prepareJob(job, { clear: false });
const queue = await store.openQueue();
await queue.offer(job, days.slice(0, FILES + 1).map((_, f) => fileOf(f)));
let ingestMs = 0;
let rows = 0;
for (let f = 0; f < FILES; f++) {
  await queue.claim(1);
  const r = await commitDay(queue, f);
  ingestMs += r.ms;
  rows += r.rows;
}
const db = openDatabase(dir);
const hadIndex = db.prepare('SELECT 1 FROM sqlite_schema WHERE name = ?').get(TICKER_INDEX) !== undefined;
if (hadIndex) throw new Error('the run did not drop the index');
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
const bytesBefore = bytes(dir);
log(`  ${rows} rows in ${(ingestMs / 1000).toFixed(1)} s; ${(bytesBefore / 1e6).toFixed(0)} MB`);
const before = measureReads(dir, shippedRead);
log(`  reads day by day: ${JSON.stringify(before)}`);
await queue.claim(1);
const syncWithout = (await commitDay(queue, FILES)).ms;
await queue.close();
log('build: Store.buildReadIndex');
const b0 = performance.now();
if (!(await store.buildReadIndex())) throw new Error('the index was there already');
const buildMs = performance.now() - b0;
await store.close();
const check = openDatabase(dir);
check.pragma('wal_checkpoint(TRUNCATE)');
const indexBytes = (check.prepare('SELECT SUM(pgsize) AS n FROM dbstat WHERE name = ?').get(TICKER_INDEX) as { n: number }).n;
check.close();
const bytesAfter = bytes(dir);
log(`  ${(buildMs / 1000).toFixed(1)} s; ${(bytesAfter / 1e6).toFixed(0)} MB, of which the index ${(indexBytes / 1e6).toFixed(0)} MB`);
sameRows(dir, (d, t) => new BarStore(d).read(t, '1d', '0000-01-01', '9999-12-31'));
const after = measureReads(dir, shippedRead);
log(`  reads along the index: ${JSON.stringify(after)}`);
const syncWarm = await syncDay(dir, FILES + 1, false);
log(`  a day's sync: ${syncWithout.toFixed(0)} ms without the index, ${syncWarm.toFixed(0)} ms with it`);
rmSync(dir, { recursive: true, force: true });

const shipped = {
  rows,
  ingestS: ingestMs / 1000,
  ingestRowsPerS: (rows / ingestMs) * 1000,
  buildS: buildMs / 1000,
  ingestAndBuildS: (ingestMs + buildMs) / 1000,
  mbBefore: bytesBefore / 1e6,
  mbAfter: bytesAfter / 1e6,
  indexMb: indexBytes / 1e6,
  readsDayByDay: before,
  readsAlongIndex: after,
  syncDayWithoutIndexMs: syncWithout,
  syncDayWithIndexMs: syncWarm,
};

/** A layout not chosen: its index created on the empty table and kept up by every insert. */
async function candidate(name: string, ddl: string, read: Read): Promise<Record<string, unknown>> {
  const cdir = path.join(scratch, name);
  log(`candidate ${name}: ingest with the index kept up row by row (cap ${CAP_MS / 1000} s)`);
  const d = openDatabase(cdir);
  d.exec(`DROP INDEX IF EXISTS ${TICKER_INDEX}; ${ddl}`);
  const s = new SqliteStore(d, cdir);
  await s.prepareJob(job, { clear: false });
  // Straight to the store's commit, never offered to a run: nothing drops the index.
  let ms = 0;
  let n = 0;
  let f = 0;
  const marks: Array<[number, number]> = [];
  for (; f < FILES && ms < CAP_MS; f++) {
    const columns = dayFile(names, days[f] as string, f);
    const t = performance.now();
    s.commitNow([{ job, file: fileOf(f), rows: [], columns }]);
    ms += performance.now() - t;
    n += columns.length;
    marks.push([ms, n]);
  }
  d.pragma('wal_checkpoint(TRUNCATE)');
  await s.close();
  const tenth = marks[Math.floor(marks.length * 0.9)] ?? [0, 0];
  const end = marks.at(-1) ?? [1, 1];
  const result: Record<string, unknown> = {
    files: f,
    rows: n,
    ingestS: ms / 1000,
    ingestRowsPerS: (n / ms) * 1000,
    lastTenthRowsPerS: ((end[1] - tenth[1]) / (end[0] - tenth[0])) * 1000,
    mb: bytes(cdir) / 1e6,
  };
  if (f === FILES) {
    sameRows(cdir, read === monthRead ? monthRows : (db2, t) => new BarStore(db2).read(t, '1d', '0000-01-01', '9999-12-31'));
    result['reads'] = measureReads(cdir, read);
  } else result['stopped'] = `after ${f} of ${FILES} files`;
  log(`  ${JSON.stringify(result)}`);
  rmSync(cdir, { recursive: true, force: true });
  return result;
}

function monthRows(db2: Db, ticker: string): unknown[] {
  return db2
    .prepare(
      `WITH m(month) AS (SELECT DISTINCT substr(day, 1, 7) FROM bar_days WHERE interval = '1d')
       SELECT b.time, b.open, b.high, b.low, b.close, b.volume, b.transactions FROM m CROSS JOIN bars b INDEXED BY ${MONTH_INDEX}
         ON b.interval = '1d' AND substr(b.day, 1, 7) = m.month AND b.symbol = ? ORDER BY m.month, b.time`,
    )
    .all(ticker);
}

const candidates = flags.candidates
  ? {
      indexKeptUp: await candidate('index', TICKER_INDEX_DDL, shippedRead),
      monthIndexKeptUp: await candidate(
        'month',
        `CREATE INDEX ${MONTH_INDEX} ON bars (interval, substr(day, 1, 7), symbol, time, day, open, high, low, close, volume, transactions)`,
        monthRead,
      ),
    }
  : undefined;

const f1 = (n: number): string => n.toFixed(1);
const lines = [
  '| layout | --all ingest s | index build s | total s | file MB | 5y read ms in page cache (median / p99) | evicted (median / p99) | a day\'s sync ms |',
  '|---|---|---|---|---|---|---|---|',
  `| day-major, no index (schema 5) | ${f1(shipped.ingestS)} | – | ${f1(shipped.ingestS)} | ${shipped.mbBefore.toFixed(0)} | ${f1(before.warmMedianMs)} / ${f1(before.warmP99Ms)} | ${f1(before.evictedMedianMs)} / ${f1(before.evictedP99Ms)} | ${syncWithout.toFixed(0)} |`,
  `| + index by ticker, built once after the ingest (schema 6) | ${f1(shipped.ingestS)} | ${f1(shipped.buildS)} | ${f1(shipped.ingestAndBuildS)} | ${shipped.mbAfter.toFixed(0)} | ${f1(after.warmMedianMs)} / ${f1(after.warmP99Ms)} | ${f1(after.evictedMedianMs)} / ${f1(after.evictedP99Ms)} | ${syncWarm.toFixed(0)} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // not a checkout
}
writeFileSync(
  OUT,
  `${JSON.stringify({ date: new Date().toISOString(), commit, machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, flags: { files: FILES, tickers: T, reads: WARM, evicted: COLD }, shipped, candidates }, null, 2)}\n`,
);
log(`results in ${OUT}`);
