/**
 * The reference of the `--all` rows: DuckDB loading the same day files from local disk into a
 * table, on 2 threads. Started by the all scenario as a child process
 * (`node --import tsx bench/scenarios/duckdb-load.ts DIR`); prints {"rows", "loadMs"}.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
if (!dir) throw new Error('usage: duckdb-load.ts DIR');
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
const started = performance.now();
await connection.run(`CREATE TABLE t AS SELECT * FROM read_csv('${dir.replace(/'/g, "''")}/**/*.csv.gz')`);
const loadMs = performance.now() - started;
const reader = await connection.runAndReadAll('SELECT count(*)::BIGINT AS n FROM t');
const rows = Number(reader.getRows()[0]?.[0] ?? 0);
process.stdout.write(`${JSON.stringify({ rows, loadMs })}\n`);
connection.closeSync();
