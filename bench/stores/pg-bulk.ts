/**
 * The PostgreSQL side of `--all`, measured: how a whole-market day file of ~11,000
 * rows goes into bars fastest, one transaction per file as the run commits it (the day's old rows
 * deleted, the file marked done). Variants, each on a fresh database of one embedded PostgreSQL,
 * round by round (`--runs`), medians side by side:
 * - COPY binary (src/store/postgres/binary.ts, hand-written: 8 fixed columns) vs COPY text;
 * - straight into bars vs a staging table and one INSERT ... ON CONFLICT;
 * - bars layouts: schema 3 (day-major: PK (interval, day, symbol, time), nothing else) vs the
 *   symbol-major layout it replaced (PK (symbol, interval, time) + (interval, day, symbol)) and
 *   schema 2 plus the index an --all delete needs (PK + (symbol, interval, day) + (interval, day));
 * - re-ingesting every day (republished: the delete finds rows), 3 connections at once, and a
 *   session with a larger work_mem;
 * - a reference: better-sqlite3, a prepared INSERT per row, one transaction per file, into the
 *   SQLite cache's bars layout (PK + bars_by_day), on the same rows.
 * Then one ticker's read over every day, through each layout. Usage:
 *   npm run bench -- pg-bulk [--days 60] [--tickers 11000] [--runs 3] [--only day-major,symbol-major] [--out bench/results/pg-bulk.json]
 * `--only`: the variants whose name contains one of the words (the SQLite reference: `sqlite`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { from as copyFrom } from 'pg-copy-streams';
import { binaryTuples } from '../../src/store/postgres/binary.js';
import { clearMarketDay, insertStaged, scopeDay } from '../../src/store/postgres/bulk.js';
import { STAGE_COLUMNS } from '../../src/store/postgres/sql/bulk.js';
import { Db } from '../../src/store/postgres/db.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { completeFiles, escapeCopy, markDone } from '../../src/store/postgres/merge.js';
import { ensureSchema } from '../../src/store/postgres/schema.js';
import type { CompletedFile, JobSpec } from '../../src/store/types.js';
import type { RowColumns } from '../../src/types.js';
import { startPostgres, type TestPostgres } from '../../test/fixtures/postgres.js';

const { values: args } = parseArgs({
  options: { days: { type: 'string', default: '60' }, tickers: { type: 'string', default: '11000' }, runs: { type: 'string', default: '3' }, only: { type: 'string', default: '' }, out: { type: 'string', default: fileURLToPath(new URL('../results/pg-bulk.json', import.meta.url)) } },
});
const DAYS = Number(args.days);
const TICKERS = Number(args.tickers);
const RUNS = Number(args.runs);
const DATASET = 'us_stocks_sip/day_aggs_v1';
const JOB: JobSpec = { job: `${DATASET}/1d/*`, dataset: DATASET, interval: '1d', tickers: ['*' + DATASET], all: true };

/** A day file of the whole market: tickers sorted, one bar each, seeded prices. */
function market(day: string, seed: number): RowColumns {
  const n = TICKERS;
  const cols: RowColumns = {
    length: n,
    ticker: TICKER_NAMES,
    time: new Float64Array(n).fill(Date.parse(`${day}T05:00:00Z`)),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    transactions: new Float64Array(n),
  };
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const p = 1 + (x % 50000) / 100;
    cols.open[i] = p;
    cols.high[i] = p * 1.02;
    cols.low[i] = p * 0.98;
    cols.close[i] = p * 1.01;
    cols.volume[i] = x % 1_000_000;
    cols.transactions[i] = i % 97 === 0 ? Number.NaN : x % 5000;
  }
  return cols;
}
const TICKER_NAMES = Array.from({ length: TICKERS }, (_, i) => `T${i.toString(36).toUpperCase().padStart(4, '0')}`).sort();
const DAY_LIST = Array.from({ length: DAYS }, (_, i) => new Date(Date.parse('2021-01-04T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10));
const FILES = DAY_LIST.map((day, i) => ({ day, cols: market(day, i + 1) }));
const ROWS = DAYS * TICKERS;

function completed(day: string, cols: RowColumns, etag: string): CompletedFile {
  return { job: JOB, file: { key: `${DATASET}/${day}.csv.gz`, day, size: 239_000, etag, lastModified: undefined }, rows: [], columns: cols };
}

/** COPY text of one file, for the text-vs-binary comparison (the format merge.ts's copyLines writes). */
function* textLines(cols: RowColumns, day: string): Generator<string> {
  let chunk = '';
  for (let i = 0; i < cols.length; i++) {
    const t = cols.transactions[i] as number;
    chunk += `${escapeCopy(cols.ticker[i] as string)}\t1d\t${day}\t${cols.time[i]}\t${cols.open[i]}\t${cols.high[i]}\t${cols.low[i]}\t${cols.close[i]}\t${cols.volume[i]}\t${Number.isNaN(t) ? '\\N' : t}\n`;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

type Ingest = (db: Db, files: typeof FILES, etag: string) => Promise<void>;

/** The implementation: completeFiles, one file a transaction (binary COPY straight into bars). */
const viaComplete: Ingest = async (db, files, etag) => {
  for (const f of files) await completeFiles(db, 1, [completed(f.day, f.cols, etag)]);
};

/** A variant of the insert step, in the same transaction shape (lock, delete, insert, mark done). */
function viaInsert(insert: (c: Parameters<Parameters<Db['transaction']>[0]>[0], f: (typeof FILES)[number]) => Promise<void>, setup = ''): Ingest {
  return async (db, files, etag) => {
    for (const f of files) {
      const m = completed(f.day, f.cols, etag);
      await db.transaction(async (c) => {
        if (setup !== '') await c.query(setup);
        await clearMarketDay(c, m);
        await insert(c, f);
        await markDone(c, 1, [scopeDay(m, f.cols.length)], [m]);
      });
    }
  };
}

const textDirect = viaInsert(async (c, f) => {
  await pipeline(Readable.from(textLines(f.cols, f.day)), c.query(copyFrom('COPY bars (symbol, interval, day, time, open, high, low, close, volume, transactions) FROM STDIN')));
});
const stagedUpsert = (setup = ''): Ingest =>
  viaInsert(async (c, f) => {
    await c.query(`CREATE TEMP TABLE IF NOT EXISTS bench_stage (${STAGE_COLUMNS}) ON COMMIT DELETE ROWS`);
    await pipeline(Readable.from(binaryTuples(f.cols, { seqBase: 0 })), c.query(copyFrom('COPY bench_stage FROM STDIN (FORMAT binary)')));
    await insertStaged(c, completed(f.day, f.cols, ''), 'bench_stage', false);
  }, setup);

/**
 * Earlier layouts, built on schema 3's table (the --all path only COPYs and deletes by day, so it
 * runs on them unchanged; ticker jobs' upserts need schema 3's key).
 */
const SYMBOL_MAJOR = 'ALTER TABLE bars DROP CONSTRAINT bars_pkey; ALTER TABLE bars ADD PRIMARY KEY (symbol, interval, time);';
const LAYOUT_V3_OLD = `${SYMBOL_MAJOR} CREATE INDEX bars_by_interval_day ON bars (interval, day, symbol);`;
const LAYOUT_V2_PLUS = `${SYMBOL_MAJOR} CREATE INDEX bars_by_day ON bars (symbol, interval, day); CREATE INDEX bars_iday ON bars (interval, day);`;
/** The read of one ticker on a symbol-major layout (the store's before schema 3 went day-major). */
const SYMBOL_MAJOR_READ = `SELECT time, open, high, low, close, volume, transactions FROM bars
  WHERE symbol = $1 AND interval = $2 AND time >= $5 AND time < $6 AND day >= $3 AND day <= $4 ORDER BY time`;

/** A narrower key: `day` as a date (4 bytes) instead of text (11), the rows COPYed as text. */
const DAY_AS_DATE = 'ALTER TABLE bars ALTER COLUMN day TYPE date USING day::date;';

interface Variant {
  name: string;
  layout?: string;
  /** Runs before the measured ingest (the re-ingest variant loads the days once first). */
  before?: Ingest;
  ingest: Ingest;
  /** Connections ingesting at once, each a share of the days. */
  parallel?: number;
}

const ALL_VARIANTS: Variant[] = [
  { name: 'binary COPY into bars (schema 3, day-major: PK (interval, day, symbol, time))', ingest: viaComplete },
  { name: 'binary COPY into bars, symbol-major (PK (symbol, interval, time) + (interval, day, symbol))', layout: LAYOUT_V3_OLD, ingest: viaComplete },
  { name: 'text COPY into bars (schema 3, day-major)', ingest: textDirect },
  { name: 'text COPY into bars, day as date (schema 3 otherwise)', layout: DAY_AS_DATE, ingest: textDirect },
  { name: 'binary COPY, staging table + INSERT ON CONFLICT (schema 3, day-major)', ingest: stagedUpsert() },
  { name: 'staging + INSERT ON CONFLICT, work_mem 64MB (schema 3, day-major)', ingest: stagedUpsert("SET LOCAL work_mem = '64MB'") },
  { name: 'binary COPY into bars, symbol-major (PK + (symbol, interval, day) + (interval, day))', layout: LAYOUT_V2_PLUS, ingest: viaComplete },
  { name: 're-ingest every day, binary COPY (schema 3, day-major)', before: viaComplete, ingest: (db, files) => viaComplete(db, files, 'etag-2') },
  { name: 're-ingest every day, binary COPY, symbol-major (PK + (interval, day, symbol))', layout: LAYOUT_V3_OLD, before: viaComplete, ingest: (db, files) => viaComplete(db, files, 'etag-2') },
  { name: '3 connections at once, binary COPY (schema 3, day-major)', ingest: viaComplete, parallel: 3 },
];
const ONLY = args.only.split(',').filter((w) => w !== '');
const picked = (name: string) => ONLY.length === 0 || ONLY.some((w) => name.includes(w));
const VARIANTS = ALL_VARIANTS.filter((v) => picked(v.name));
const SQLITE = 'SQLite reference (better-sqlite3, INSERT per row)';

async function runVariant(pg: TestPostgres, v: Variant): Promise<number> {
  const url = await pg.freshDatabase();
  const db = new Db(url, v.parallel ?? 1);
  try {
    await ensureSchema(db);
    if (v.layout) await db.query(v.layout);
    if (v.before) await v.before(db, FILES, 'etag-1');
    const parts = v.parallel ?? 1;
    const started = performance.now();
    await Promise.all(Array.from({ length: parts }, (_, p) => v.ingest(db, FILES.filter((_, i) => i % parts === p), 'etag-1')));
    const ms = performance.now() - started;
    const [count] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM bars');
    if (count?.n !== ROWS) throw new Error(`${v.name}: ${count?.n} bars stored, expected ${ROWS}`);
    return ms;
  } finally {
    await db.end();
    await dropDatabase(pg, url);
  }
}

async function dropDatabase(pg: TestPostgres, url: string): Promise<void> {
  const admin = new Db(pg.url, 1);
  try {
    await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The reference: better-sqlite3 into the SQLite cache's bars layout, one transaction per file. */
function sqliteRun(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'pmd-bulk-'));
  try {
    const db = new Database(path.join(dir, 'bars.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE bars (symbol TEXT NOT NULL, interval TEXT NOT NULL, time INTEGER NOT NULL, day TEXT NOT NULL,
      open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, transactions INTEGER,
      PRIMARY KEY (symbol, interval, time)) WITHOUT ROWID; CREATE INDEX bars_by_day ON bars (symbol, interval, day);`);
    const insert = db.prepare('INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const started = performance.now();
    for (const f of FILES) {
      db.transaction(() => {
        const c = f.cols;
        for (let i = 0; i < c.length; i++) {
          const t = c.transactions[i] as number;
          insert.run(c.ticker[i], '1d', c.time[i], f.day, c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], Number.isNaN(t) ? null : t);
        }
      })();
    }
    const ms = performance.now() - started;
    db.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One ticker's bars over every day, on each layout (day-major through the store's readBars): median of 20 reads. */
async function readTimes(pg: TestPostgres): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const layouts = [
    ['schema 3 (day-major)', ''],
    ['symbol-major (PK + (interval, day, symbol))', LAYOUT_V3_OLD],
  ] as const;
  for (const [name, layout] of layouts) {
    const url = await pg.freshDatabase();
    const db = new Db(url, 1);
    await ensureSchema(db);
    if (layout) await db.query(layout);
    await viaComplete(db, FILES, 'e');
    await db.query('ANALYZE bars');
    const store = await openPostgresStore(url);
    const ticker = TICKER_NAMES[Math.floor(TICKERS / 2)] as string;
    const [start, end] = [DAY_LIST[0] as string, DAY_LIST.at(-1) as string];
    const margin = 3 * 86_400_000;
    const bounds = [Date.parse(`${start}T00:00:00Z`) - margin, Date.parse(`${end}T00:00:00Z`) + 86_400_000 + margin];
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      const bars = layout ? await db.query(SYMBOL_MAJOR_READ, [ticker, '1d', start, end, ...bounds]) : await store.readBars(ticker, '1d', start, end);
      if (bars.length !== DAYS) throw new Error(`read ${bars.length} bars of ${ticker}, expected ${DAYS}`);
      if (i > 0) times.push(performance.now() - t0);
    }
    await store.close();
    await db.end();
    await dropDatabase(pg, url);
    out[name] = Math.round(median(times) * 100) / 100;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const pg = await startPostgres();
try {
  const samples = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []] as [string, number[]]));
  if (picked('sqlite')) samples.set(SQLITE, []);
  for (let r = 0; r < RUNS; r++) {
    for (const v of VARIANTS) samples.get(v.name)?.push(await runVariant(pg, v));
    if (picked('sqlite')) samples.get(SQLITE)?.push(sqliteRun());
  }
  const base = median([...samples.values()][0] ?? []);
  const rows = [...samples].map(([name, ms]) => ({
    name,
    medianMs: Math.round(median(ms)),
    minMs: Math.round(Math.min(...ms)),
    maxMs: Math.round(Math.max(...ms)),
    rowsPerSecond: Math.round(ROWS / (median(ms) / 1000)),
    vsImplementation: Math.round((median(ms) / base) * 100) / 100,
  }));
  const reads = await readTimes(pg);
  const result = { date: new Date().toISOString(), cores: cpus().length, node: process.version, days: DAYS, tickers: TICKERS, rows: ROWS, runs: RUNS, variants: rows, readOneTickerMs: reads };
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${ROWS} rows (${DAYS} days x ${TICKERS} tickers), ${RUNS} runs, medians:`);
  for (const r of rows) console.log(`  ${r.name}: ${r.medianMs} ms (${r.minMs}-${r.maxMs}), ${r.rowsPerSecond} rows/s, x${r.vsImplementation}`);
  console.log(`  read of one ticker over ${DAYS} days: ${JSON.stringify(reads)}`);
} finally {
  await pg.close();
}
