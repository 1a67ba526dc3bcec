// The writer: DuckDB's Node client, an optional dependency loaded only when an export runs. Bars
// go into a table of numbers only (the ticker as an id into a second table, the time as epoch ms,
// the day as days since 1970), appended a data chunk at a time from typed columns (one chunk,
// reused: a chunk per 2,048 rows held ~1 GB of native memory until the event loop turned), then each
// partition is written with its own `COPY (SELECT ... WHERE <partition> ORDER BY symbol, time)`.
// The table lives in a DuckDB database file in the staging directory under a memory limit, so
// the whole market's bars spill to disk instead of filling memory (measured: README, Export).
// Per-partition COPY rather than `PARTITION_BY`: the directory names (percent-encoded values), the
// file name and the sort order inside each file are ours, not DuckDB's, and the same loop writes CSV.
import { join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import type { Bar } from '../types.js';
import type { ColumnBatch } from './columns.js';
import type { ExportFormat } from './types.js';

type DuckDbModule = typeof import('@duckdb/node-api');
type Instance = import('@duckdb/node-api').DuckDBInstance;
type Connection = import('@duckdb/node-api').DuckDBConnection;
type Appender = import('@duckdb/node-api').DuckDBAppender;
type DuckDbType = import('@duckdb/node-api').DuckDBType;

export const DUCKDB_PACKAGE = '@duckdb/node-api';
/** Rows of one data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;
/**
 * Chunks between two flushes of the appender (which otherwise holds every row until it is closed,
 * measured: 1.6 GB for the whole market), each followed by a yield to the event loop.
 */
const CHUNKS_PER_FLUSH = 64;
/**
 * DuckDB's own memory (MB): past it the table's blocks are written to the database file and read
 * back when a partition is copied. The whole market's 5 years of day bars then stay under 500 MB RSS,
 * with a year written while the next are appended (bench/results/export.json, measured in one hour:
 * 80 MB 33.8 s and 431 MB; 96 MB 26.2 s but 482 MB, and 445-558 MB at 128 in runs by hand; 64 MB
 * 34.0 s, 410 MB): the margin under 500 MB is worth more than the speed of 96.
 */
export const DEFAULT_MEMORY_LIMIT_MB = 80;

/** Loads the optional DuckDB client; `specifier` is for tests. */
export async function loadDuckDb(specifier: string = DUCKDB_PACKAGE): Promise<DuckDbModule> {
  try {
    return (await import(specifier)) as DuckDbModule;
  } catch (error) {
    throw new ConfigurationError(
      `Export needs the optional package ${DUCKDB_PACKAGE}, which could not be loaded (${(error as Error).message.split('\n')[0]}): install it with \`npm install ${DUCKDB_PACKAGE}\``,
      { cause: error },
    );
  }
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}


// The stored columns turned into the exported ones (ids to tickers, epoch ms to a UTC timestamp).
const SELECT = (interval: string): string =>
  `s.symbol AS symbol, CAST(epoch_ms(CAST(b.time AS BIGINT)) AS TIMESTAMPTZ) AS time, CAST(DATE '1970-01-01' + b.day AS DATE) AS day, b.open AS open, b.high AS high, b.low AS low, b.close AS close, b.volume AS volume, CASE WHEN isnan(b.transactions) THEN NULL ELSE CAST(b.transactions AS BIGINT) END AS transactions, ${sqlString(interval)} AS interval`;
// ISO 8601 in UTC with milliseconds, as `new Date(ms).toISOString()` prints it.
const CSV_COLUMNS = `symbol, strftime(timezone('UTC', time), '%Y-%m-%dT%H:%M:%S.%gZ') AS time, strftime(day, '%Y-%m-%d') AS day, open, high, low, close, volume, transactions, interval`;

/**
 * The bars to export, in a DuckDB database file in the staging directory, and the COPY statements
 * that write them. Symbols are stored as ids (see `setSymbols`).
 */
export class BarTable {
  readonly #instance: Instance;
  readonly #connection: Connection;
  /** The COPYs' own connection: a partition is written while rows are still appended on the other. */
  readonly #writer: Connection;
  readonly #appender: Appender;
  #writes: Promise<unknown> = Promise.resolve();
  readonly #chunk: import('@duckdb/node-api').DuckDBDataChunk;
  // The rows of the chunk being filled, column by column (the table's order).
  readonly #sid = new Int32Array(CHUNK_ROWS);
  readonly #time = new Float64Array(CHUNK_ROWS);
  readonly #day = new Int32Array(CHUNK_ROWS);
  readonly #open = new Float64Array(CHUNK_ROWS);
  readonly #high = new Float64Array(CHUNK_ROWS);
  readonly #low = new Float64Array(CHUNK_ROWS);
  readonly #close = new Float64Array(CHUNK_ROWS);
  readonly #volume = new Float64Array(CHUNK_ROWS);
  /** NaN where a bar has no transactions (SELECT makes it NULL). */
  readonly #tx = new Float64Array(CHUNK_ROWS);
  readonly #src = new Int32Array(CHUNK_ROWS);
  #n = 0;
  #rows = 0;
  #chunks = 0;
  #dedupe = false;

  private constructor(instance: Instance, connection: Connection, writer: Connection, appender: Appender, chunk: import('@duckdb/node-api').DuckDBDataChunk) {
    this.#instance = instance;
    this.#connection = connection;
    this.#writer = writer;
    this.#appender = appender;
    this.#chunk = chunk;
  }

  /** Opens a fresh database in `dir` (the staging directory: removed with it). */
  static async open(duck: DuckDbModule, dir: string, memoryLimitMb: number = DEFAULT_MEMORY_LIMIT_MB): Promise<BarTable> {
    const instance = await duck.DuckDBInstance.create(join(dir, 'bars.duckdb'), {
      memory_limit: `${memoryLimitMb}MB`,
      temp_directory: join(dir, 'duckdb.tmp'),
    });
    try {
      const connection = await instance.connect();
      await connection.run(`SET TimeZone = 'UTC'`);
      // src: the stored day file of a scanned row (days since 1970), for `dedupe`; 0 when read per symbol.
      await connection.run(
        'CREATE TABLE bars (sid INTEGER NOT NULL, time DOUBLE NOT NULL, day INTEGER NOT NULL, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, transactions DOUBLE, src INTEGER NOT NULL)',
      );
      await connection.run('CREATE TABLE symbols (sid INTEGER PRIMARY KEY, symbol VARCHAR NOT NULL)');
      const writer = await instance.connect();
      await writer.run(`SET TimeZone = 'UTC'`);
      const appender = await connection.createAppender('bars');
      const { INTEGER, DOUBLE, DuckDBDataChunk } = duck;
      const types: DuckDbType[] = [INTEGER, DOUBLE, INTEGER, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, INTEGER];
      return new BarTable(instance, connection, writer, appender, DuckDBDataChunk.create(types, CHUNK_ROWS));
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  /**
   * Names the symbols: the id of each is its index in `symbols`. Give them sorted, and sorting by
   * id sorts by symbol, with no string compares. Call once, before any row.
   */
  async setSymbols(symbols: readonly string[]): Promise<void> {
    const names = await this.#connection.createAppender('symbols');
    try {
      for (const [sid, symbol] of symbols.entries()) {
        names.appendInteger(sid);
        names.appendVarchar(symbol);
        names.endRow();
      }
      names.flushSync();
    } finally {
      names.closeSync();
    }
  }

  /**
   * Keeps one row per (symbol, time) when the partitions are written, the one of the latest day
   * file (`src`), as a read per symbol does: for scanned rows of day files that overlap.
   */
  dedupe(): void {
    this.#dedupe = true;
  }

  /**
   * Appends bars of symbol `sid`, each with its day (days since 1970, from `dayOf`), a data chunk at a
   * time. Resolves after yielding to the event loop every few chunks.
   */
  async append(sid: number, bars: readonly Bar[], dayOf: (timeMs: number) => number): Promise<void> {
    for (const b of bars) {
      if (this.#put(sid, b.time, dayOf(b.time), b.open, b.high, b.low, b.close, b.volume, b.transactions)) await yieldToLoop();
    }
  }

  /** Adds one row; true every few chunks, when the caller should yield to the event loop. */
  #put(sid: number, time: number, day: number, open: number, high: number, low: number, close: number, volume: number, transactions: number | null): boolean {
    const i = this.#n;
    this.#sid[i] = sid;
    this.#time[i] = time;
    this.#day[i] = day;
    this.#open[i] = open;
    this.#high[i] = high;
    this.#low[i] = low;
    this.#close[i] = close;
    this.#volume[i] = volume;
    this.#tx[i] = transactions === null ? Number.NaN : Math.round(transactions);
    this.#src[i] = 0;
    this.#n = i + 1;
    return this.#n === CHUNK_ROWS && this.#appendChunk();
  }

  /** Appends a batch of scanned rows (columns.ts), a data chunk at a time, yielding every few chunks. */
  async appendBatch(b: ColumnBatch): Promise<void> {
    this.#appendChunk();
    const columns = [b.sid, b.time, b.day, b.open, b.high, b.low, b.close, b.volume, b.transactions, b.src];
    for (let from = 0; from < b.n; from += CHUNK_ROWS) {
      if (this.#appendColumns(columns, from, Math.min(CHUNK_ROWS, b.n - from))) await yieldToLoop();
    }
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.#rows + this.#n;
  }

  /** Appends the rows put so far (`#put`); true when that committed, as `#appendColumns`. */
  #appendChunk(): boolean {
    const n = this.#n;
    if (n === 0) return false;
    this.#n = 0;
    return this.#appendColumns([this.#sid, this.#time, this.#day, this.#open, this.#high, this.#low, this.#close, this.#volume, this.#tx, this.#src], 0, n);
  }

  /**
   * Appends rows [from, from + n) of typed columns in the table's order through the one data chunk;
   * commits every CHUNKS_PER_FLUSH chunks and returns true then: the caller yields to the event loop.
   */
  #appendColumns(columns: ReadonlyArray<Int32Array | Float64Array>, from: number, n: number): boolean {
    const chunk = this.#chunk;
    chunk.rowCount = n;
    // The typed columns are read by index, as an array of numbers would be.
    columns.forEach((c, i) => chunk.setColumnValues(i, c.subarray(from, from + n) as unknown as readonly number[]));
    this.#appender.appendDataChunk(chunk);
    this.#rows += n;
    if (++this.#chunks % CHUNKS_PER_FLUSH !== 0) return false;
    this.#appender.flushSync();
    return true;
  }

  /** Commits what is appended so far: a `write` then sees it. */
  flush(): void {
    this.#appendChunk();
    this.#appender.flushSync();
  }

  /** Commits what is buffered and closes the appender: call once, after the last row. */
  finish(): void {
    this.flush();
    this.#appender.closeSync();
  }

  /**
   * Writes the rows that `where` selects (SQL over the columns `b.sid` and `b.day`), sorted by
   * (symbol, time), to `path`, on the writer's connection, after the writes before it. Sees the rows
   * committed (`flush`) when it starts. Returns the rows written.
   */
  async write(where: string, path: string, format: ExportFormat, interval: string, metadata: Readonly<Record<string, string>>): Promise<number> {
    const once = this.#dedupe ? ' QUALIFY row_number() OVER (PARTITION BY b.sid, b.time ORDER BY b.src DESC) = 1' : '';
    const query = `SELECT ${SELECT(interval)} FROM bars b JOIN symbols s ON s.sid = b.sid WHERE ${where}${once} ORDER BY b.sid, b.time`;
    let sql: string;
    if (format === 'csv') {
      sql = `COPY (SELECT ${CSV_COLUMNS} FROM (${query})) TO ${sqlString(path)} (FORMAT csv, HEADER true)`;
    } else {
      const kv = Object.entries(metadata)
        .map(([k, v]) => `${k}: ${sqlString(v)}`)
        .join(', ');
      sql = `COPY (${query}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${kv}})`;
    }
    const run = this.#writes.then(() => this.#writer.run(sql));
    this.#writes = run.catch(() => undefined);
    return (await run).rowsChanged;
  }

  close(): void {
    try {
      this.#appender.closeSync();
    } catch {
      // Already closed by finish().
    }
    this.#writer.closeSync();
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

/** Lets the event loop run (DuckDB's client frees native memory from it). */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

