/**
 * `npm run bench -- export [--runs N] [--fraction F]`: the built CLI's `export`, spawned, against
 * DuckDB's own partitioned COPY of the same rows from an in-memory table (the floor). Rows:
 *   market   `export --all` of the whole market's 5 years of day bars (~14 million rows) to
 *            Parquet by year, with peak RSS and the lake's size against the gzipped day files'
 *   floor    `COPY (SELECT * FROM t) TO dir (FORMAT parquet, PARTITION_BY (year))` (snappy, the
 *            default, and zstd), t the same rows in memory (loaded from the lake, not timed)
 *   one      `export TSLA --period 5y`, process start included
 *   minute   `export TSLA --interval 1m` of a year of minute bars (~250,000 rows): peak RSS
 * Round by round (market, floor, one, minute), median and min-max of each. The store is filled
 * straight from the generated files (export-store.ts), once, into .bench-data/. Writes
 * bench/results/export.json.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { CRYPTO_DATASET, generateDataset, STOCKS_DATASET } from '../../test/fixtures/generate.js';
import { fillExportStore, fillMinuteStore, type FilledStore } from './export-store.js';
import { measure, median, rusageMethod, type Measured } from '../lib/measure.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = path.join(ROOT, '.bench-data');
const RESULT_FILE = path.join(ROOT, 'bench', 'results', 'export.json');
const END_DATE = '2026-11-20'; // the main benchmark's dataset
const START = '2021-11-21';
const CLI = path.join(ROOT, 'bin', 'preload-market-data.js');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Row {
  name: string;
  wallMs: number[];
  rssKb: number[];
  cpuMs: number[];
}

export async function runExportBench(argv: string[]): Promise<void> {
  const { values: flags } = parseArgs({ args: argv, options: { runs: { type: 'string' }, fraction: { type: 'string' } } });
  const runs = Number(flags.runs ?? 3);
  const fraction = Number(flags.fraction ?? 1);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`Expected --runs to be an integer >= 1, got \`${flags.runs}\``);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`Expected --fraction to be in (0, 1], got \`${flags.fraction}\``);

  log('Dataset: 11,000 filler tickers, 5y of stock day files and 2y of crypto (generated once into .bench-data/store)');
  const ds = await generateDataset({ dir: path.join(DATA, 'store'), fillerTickers: 11_000, endDate: END_DATE });
  const files = ds.files.filter((f) => (f.dataset === STOCKS_DATASET && f.day >= START) || f.dataset === CRYPTO_DATASET);
  const keep = (t: string): boolean => fraction === 1 || hash(t) < fraction;
  log('Store: filled from the day files through BarStore (once; ~12 min on a busy machine)');
  const store = fillExportStore(ds, files, path.join(DATA, `export-store${fraction === 1 ? '' : `-${fraction}`}`), keep, `v1-${fraction}`);
  const minute = fillMinuteStore(path.join(DATA, 'export-minute-store'), 'TSLA', 2025);
  log(`  ${store.rows} rows of ${store.tickers} tickers from ${store.files} files (${(store.sourceBytes / 1e6).toFixed(0)} MB gzipped); minute store ${minute.rows} rows`);

  const scratch = path.join(DATA, 'export-runs');
  rmSync(scratch, { recursive: true, force: true });
  const rows: Record<string, Row> = {};
  const add = (name: string, m: Pick<Measured, 'wallMs' | 'rssKb' | 'cpuMs'>): void => {
    const r = (rows[name] ??= { name, wallMs: [], rssKb: [], cpuMs: [] });
    r.wallMs.push(m.wallMs);
    if (m.rssKb !== undefined) r.rssKb.push(m.rssKb);
    if (m.cpuMs !== undefined) r.cpuMs.push(m.cpuMs);
  };
  const cli = async (args: string[]): Promise<{ m: Measured; report: { rows: number; bytes: number } }> => {
    const m = await measure(process.execPath, [CLI, 'export', ...args, '--json'], process.env);
    if (m.code !== 0) throw new Error(`export ${args.join(' ')} exited ${m.code}: ${m.stderr}`);
    return { m, report: JSON.parse(m.stdout) as { rows: number; bytes: number } };
  };

  const lake = path.join(scratch, 'market');
  let floor: Floor | undefined;
  try {
    for (let round = 1; round <= runs; round++) {
      log(`Round ${round}/${runs}`);
      rmSync(lake, { recursive: true, force: true });
      const market = await cli(['--all', '--out', lake, '--cache-dir', store.cacheDir, '--adjust', 'none']);
      add('market', market.m);
      const marketRows = market.report.rows;
      const lakeBytes = market.report.bytes;
      log(`  market: ${(market.m.wallMs / 1000).toFixed(1)} s, ${marketRows} rows, ${((market.m.rssKb ?? 0) / 1024).toFixed(0)} MB peak RSS`);
      floor ??= await Floor.load(lake);
      for (const compression of ['snappy', 'zstd'] as const) {
        const ms = await floor.copy(path.join(scratch, `floor-${compression}`), compression);
        add(`floor ${compression}`, { wallMs: ms, rssKb: undefined, cpuMs: undefined });
        log(`  floor ${compression}: ${(ms / 1000).toFixed(1)} s`);
      }
      const one = await cli(['TSLA', '--period', '5y', '--end', END_DATE, '--out', path.join(scratch, `one-${round}`), '--cache-dir', store.cacheDir, '--adjust', 'none']);
      add('one', one.m);
      const min = await cli(['TSLA', '--interval', '1m', '--out', path.join(scratch, `minute-${round}`), '--cache-dir', minute.cacheDir, '--adjust', 'none']);
      add('minute', min.m);
      log(`  one: ${(one.m.wallMs / 1000).toFixed(2)} s; minute: ${(min.m.wallMs / 1000).toFixed(1)} s, ${((min.m.rssKb ?? 0) / 1024).toFixed(0)} MB peak RSS`);
      writeResults(rows, { runs, fraction, store, minute, marketRows, lakeBytes });
    }
  } finally {
    floor?.close();
  }
  process.stdout.write(`${readFileSync(RESULT_FILE, 'utf8')}`);
}

/** Writes bench/results/export.json from the rounds so far (after every round: a long run stopped early keeps them). */
function writeResults(rows: Record<string, Row>, c: { runs: number; fraction: number; store: FilledStore; minute: FilledStore; marketRows: number; lakeBytes: number }): void {
  const { store, minute, marketRows, lakeBytes, runs, fraction } = c;
  const summary = Object.values(rows).map((r) => ({
    name: r.name,
    medianMs: Math.round(median(r.wallMs)),
    minMs: Math.round(Math.min(...r.wallMs)),
    maxMs: Math.round(Math.max(...r.wallMs)),
    peakRssMb: r.rssKb.length > 0 ? Math.round(Math.max(...r.rssKb) / 1024) : undefined,
    medianCpuMs: r.cpuMs.length > 0 ? Math.round(median(r.cpuMs)) : undefined,
  }));
  const med = (name: string): number => summary.find((s) => s.name === name)?.medianMs ?? NaN;
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
    rusage: rusageMethod,
    runs: Math.max(...Object.values(rows).map((r) => r.wallMs.length)),
    runsAsked: runs,
    fraction,
    store: { rows: store.rows, tickers: store.tickers, files: store.files, sourceBytes: store.sourceBytes },
    market: { rows: marketRows, rowsPerS: Math.round(marketRows / (med('market') / 1000)), lakeBytes, lakeVsSource: lakeBytes / store.sourceBytes },
    ratios: { marketVsFloorSnappy: med('market') / med('floor snappy'), marketVsFloorZstd: med('market') / med('floor zstd') },
    minuteRows: minute.rows,
    rows: summary,
  };
  writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, 2)}\n`);
}

/** The floor: the same rows in an in-memory DuckDB table, copied by DuckDB's own partitioned writer. */
class Floor {
  readonly #instance: DuckDBInstance;
  readonly #connection: Awaited<ReturnType<DuckDBInstance['connect']>>;

  private constructor(instance: DuckDBInstance, connection: Awaited<ReturnType<DuckDBInstance['connect']>>) {
    this.#instance = instance;
    this.#connection = connection;
  }

  static async load(lake: string): Promise<Floor> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    const glob = path.join(lake, 'interval=1d', '*', '*.parquet');
    await connection.run(`CREATE TABLE t AS SELECT * EXCLUDE (year), year(day) AS year FROM read_parquet('${glob}', hive_partitioning = true)`);
    return new Floor(instance, connection);
  }

  async copy(dir: string, compression: 'snappy' | 'zstd'): Promise<number> {
    rmSync(dir, { recursive: true, force: true });
    const started = performance.now();
    await this.#connection.run(`COPY (SELECT * FROM t) TO '${dir}' (FORMAT parquet, COMPRESSION ${compression}, PARTITION_BY (year))`);
    const ms = performance.now() - started;
    log(`    (${(dirBytes(dir) / 1e6).toFixed(0)} MB)`);
    return ms;
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

/** A ticker's place in [0, 1), the same on every run: which tickers a fraction keeps. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}
