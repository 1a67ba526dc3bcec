// The export's memory stays bounded by the writer's limit, not by the store's size: a child process
// exports a store of a few hundred tickers and reports its own peak RSS (the kernel's, every thread).
// The rows it wrote are counted by hyparquet against the cache file counted by better-sqlite3.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CACHE_FILE } from '../../src/store/sqlite/db.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { JobSpec, Store } from '../../src/store/types.js';
import type { ParsedRow } from '../../src/types.js';

const TICKERS = Array.from({ length: 200 }, (_, i) => `T${String(i).padStart(3, '0')}`);
const DAYS = 500;
/**
 * Peak RSS allowed. Measured here (tsx in the child included): 263-275 MB, whether the writer's
 * limit is 64 MB or 2 GB: at this size the process itself (Node, tsx, DuckDB's threads) dominates,
 * so this guards against memory that grows with the rows read (a store read whole, an appender
 * never flushed), not the writer's spilling, which the benchmark measures on the whole market.
 */
const CAP_MB = 350;
const JOB: JobSpec = { job: 'memory', dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', tickers: TICKERS };

let root: string;
let cacheDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmd-export-memory-'));
  cacheDir = join(root, 'cache');
  const store: Store = openSqliteStore(cacheDir);
  try {
    await store.prepareJob(JOB, { clear: false });
    const queue = await store.openQueue([JOB]);
    const files = Array.from({ length: DAYS }, (_, d) => {
      const day = new Date(Date.UTC(2020, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      return { key: `k/${day}.csv.gz`, day, size: 1, etag: `e${d}`, lastModified: undefined };
    });
    await queue.offer(JOB, files);
    const items = await queue.claim(files.length);
    const rows = (day: string, d: number): ParsedRow[] =>
      TICKERS.map((ticker, i) => ({ ticker, time: Date.parse(`${day}T05:00:00Z`), open: 10 + i + d / 100, high: 11 + i, low: 9 + i, close: 10.5 + i, volume: 1000 + d, transactions: d }));
    for (let i = 0; i < items.length; i += 50) {
      await queue.complete(items.slice(i, i + 50).map((item, j) => ({ job: JOB, file: item.file, rows: rows(item.file.day, i + j) })));
    }
    await queue.close();
  } finally {
    await store.close();
  }
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function exportChild(out: string, limitMb: number): Promise<{ rows: number; files: number; maxRssKb: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/export-child.ts', cacheDir, out, String(limitMb)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as { rows: number; files: number; maxRssKb: number }) : reject(new Error(`exit ${code}: ${stderr}`))));
  });
}

it('exports a few hundred tickers with a peak RSS under the cap, every row written', async () => {
  const out = join(root, 'lake');
  const r = await exportChild(out, 64);
  const db = new Database(join(cacheDir, CACHE_FILE), { readonly: true });
  const stored = (db.prepare('SELECT COUNT(*) AS n FROM bars').get() as { n: number }).n;
  db.close();
  expect(stored).toBe(TICKERS.length * DAYS);
  let written = 0;
  for (const part of readdirSync(join(out, 'interval=1d'))) {
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(join(out, 'interval=1d', part, 'part-0.parquet')));
    written += Number(meta.num_rows);
  }
  expect(written).toBe(stored);
  expect(r.rows).toBe(stored);
  expect(r.maxRssKb / 1024).toBeLessThan(CAP_MB);
}, 120_000);
