// The writer: DuckDB's Node client, an optional dependency loaded only when an export runs. Rows
// go into one in-memory table through its appender, then each partition is written with its own
// `COPY (SELECT ... WHERE part = ... ORDER BY symbol, time) TO 'file'`. Per-partition COPY rather
// than `PARTITION_BY`: the directory names (percent-encoded values), the file name and the sort
// order inside each file are ours, not DuckDB's, and the same loop writes CSV.
import { ConfigurationError } from '../errors.js';
import type { Bar } from '../types.js';
import type { ExportFormat } from './types.js';

type DuckDbModule = typeof import('@duckdb/node-api');
type Instance = import('@duckdb/node-api').DuckDBInstance;
type Connection = import('@duckdb/node-api').DuckDBConnection;

export const DUCKDB_PACKAGE = '@duckdb/node-api';
/** Rows appended between two flushes of the appender: bounds what it buffers. */
const CHUNK_ROWS = 50_000;
const DAY_MS = 86_400_000;

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

const COLUMNS = 'symbol, time, day, open, high, low, close, volume, transactions, interval';
// ISO 8601 in UTC with milliseconds, as `new Date(ms).toISOString()` prints it.
const CSV_COLUMNS = `symbol, strftime(timezone('UTC', time), '%Y-%m-%dT%H:%M:%S.%gZ') AS time, strftime(day, '%Y-%m-%d') AS day, open, high, low, close, volume, transactions, interval`;

/** One in-memory DuckDB table of the bars to export, and the COPY statements that write it. */
export class BarTable {
  readonly #duck: DuckDbModule;
  readonly #instance: Instance;
  readonly #connection: Connection;

  private constructor(duck: DuckDbModule, instance: Instance, connection: Connection) {
    this.#duck = duck;
    this.#instance = instance;
    this.#connection = connection;
  }

  static async open(duck: DuckDbModule): Promise<BarTable> {
    const instance = await duck.DuckDBInstance.create(':memory:');
    try {
      const connection = await instance.connect();
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(
        `CREATE TABLE bars (symbol VARCHAR NOT NULL, time TIMESTAMPTZ NOT NULL, day DATE NOT NULL, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, transactions BIGINT, interval VARCHAR NOT NULL, part VARCHAR NOT NULL)`,
      );
      return new BarTable(duck, instance, connection);
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  /**
   * Appends one symbol's bars, each with its session day and partition (from `partOf`), flushing
   * every {@link CHUNK_ROWS} rows. Returns the rows added to each partition.
   */
  async append(symbol: string, interval: string, bars: readonly Bar[], dayOf: (timeMs: number) => string, partOf: (day: string) => string): Promise<Map<string, number>> {
    const { timestampTZValue, dateValue } = this.#duck;
    const counts = new Map<string, number>();
    const appender = await this.#connection.createAppender('bars');
    try {
      for (const [i, b] of bars.entries()) {
        const day = dayOf(b.time);
        const part = partOf(day);
        counts.set(part, (counts.get(part) ?? 0) + 1);
        appender.appendVarchar(symbol);
        appender.appendTimestampTZ(timestampTZValue(BigInt(b.time) * 1000n));
        appender.appendDate(dateValue(Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS)));
        appender.appendDouble(b.open);
        appender.appendDouble(b.high);
        appender.appendDouble(b.low);
        appender.appendDouble(b.close);
        appender.appendDouble(b.volume);
        if (b.transactions === null) appender.appendNull();
        else appender.appendBigInt(BigInt(Math.round(b.transactions)));
        appender.appendVarchar(interval);
        appender.appendVarchar(part);
        appender.endRow();
        if ((i + 1) % CHUNK_ROWS === 0) {
          appender.flushSync();
          // Let an abort or a progress callback in between chunks.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    return counts;
  }

  /** Writes the rows of partition `part`, sorted by (symbol, time), to `path`. */
  async write(part: string, path: string, format: ExportFormat, metadata: Readonly<Record<string, string>>): Promise<void> {
    const where = `FROM bars WHERE part = ${sqlString(part)} ORDER BY symbol, time`;
    if (format === 'csv') {
      await this.#connection.run(`COPY (SELECT ${CSV_COLUMNS} ${where}) TO ${sqlString(path)} (FORMAT csv, HEADER true)`);
      return;
    }
    const kv = Object.entries(metadata)
      .map(([k, v]) => `${k}: ${sqlString(v)}`)
      .join(', ');
    await this.#connection.run(`COPY (SELECT ${COLUMNS} ${where}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${kv}})`);
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}
