/**
 * The cluster scenario: the minute month shared by 1, 2, 4 and 8 CLI processes on one
 * PostgreSQL store, each process with a link of its own in the fast server (machines that each
 * have their own connection), each with the default 20 downloads in flight (the store's fair
 * share spreads the month's files), and the cost of the PostgreSQL merge per file against SQLite's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { TestPostgres } from '../../test/fixtures/postgres.js';
import { cliEnv, measure } from '../lib/measure.js';
import type { Context, Row, Sample } from '../lib/types.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { CompletedFile, JobSpec, Store } from '../../src/store/types.js';

/** Process counts measured; the first is the baseline of the speed-up. */
export const CLUSTER_PROCESSES = [1, 2, 4, 8];
/** Each process's own link, in megabits a second. */
export const CLUSTER_MBPS = 200;
export const clusterRowName = (n: number): string => `cluster: ${n} process${n === 1 ? '' : 'es'}, ${CLUSTER_MBPS} Mbit/s each`;

interface ClusterReport {
  files: { downloaded: number; failed: number };
  bytes: number;
  job?: { files: number; done: number; processes: unknown[] };
}

/** Rows of `n` processes sharing the minute month on a fresh database of `pg`. */
export function clusterRows(ctx: Context, pg: () => TestPostgres): Row[] {
  const w = ctx.minute?.month;
  if (!w) throw new Error('the cluster scenario needs the minute month (generated with it)');
  const baseline = clusterRowName(CLUSTER_PROCESSES[0] ?? 1);
  return CLUSTER_PROCESSES.map((n) => ({
    name: clusterRowName(n),
    scenario: 'cluster',
    floor: baseline,
    run: async (): Promise<Sample> => {
      const store = await pg().freshDatabase();
      const endpoints = await ctx.server.ownLinks(n, CLUSTER_MBPS);
      await ctx.server.resetStats();
      const env = cliEnv();
      const started = performance.now();
      const runs = await Promise.all(
        endpoints.map((endpoint) =>
          measure(
            process.execPath,
            [path.join(ctx.app, 'bin', 'preload-market-data.js'), 'TSLA', ...w.args, '--end', ctx.end, '--start', firstDay(w), '--endpoint', endpoint, '--store', store, '--json'],
            env,
          ),
        ),
      );
      const wallMs = performance.now() - started;
      const stats = await ctx.server.stats();
      const reports = runs.map((m) => {
        if (m.code !== 0) throw new Error(`cluster process exited ${m.code}:\n${m.stderr}`);
        return JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '') as ClusterReport;
      });
      const downloaded = reports.reduce((sum, r) => sum + r.files.downloaded, 0);
      if (downloaded !== w.expected.length || stats.totalGets !== w.expected.length) {
        throw new Error(`${clusterRowName(n)}: ${downloaded} files downloaded, ${stats.totalGets} GETs, for ${w.expected.length} files`);
      }
      return {
        wallMs,
        rssKb: Math.max(...runs.map((m) => m.rssKb ?? 0)),
        cpuMs: runs.reduce((sum, m) => sum + (m.cpuMs ?? 0), 0),
        files: downloaded,
        bytes: reports.reduce((sum, r) => sum + r.bytes, 0),
        gets: stats.totalGets,
        extra: { processes: n, minShare: Math.min(...reports.map((r) => r.files.downloaded)) },
      };
    },
  }));
}

function firstDay(w: { expected: Array<{ key: string }> }): string {
  const days = w.expected.map((f) => /(\d{4}-\d{2}-\d{2})\.csv\.gz$/.exec(f.key)?.[1] ?? '').sort();
  return days[0] ?? '';
}

/** Bars per file in the merge rows: a minute file's TSLA (16 hours of minutes), and a day file's. */
const MERGE_SHAPES = [
  { label: '960 1m bars (a minute file)', bars: 960, interval: '1m' as const },
  { label: '1 1d bar (a day file)', bars: 1, interval: '1d' as const },
];
const MERGE_FILES = 128;

/**
 * What committing one file costs each store, as a run commits them (one transaction per arriving
 * file: merge the bars, record the ingested day, mark the file done), against the former batches
 * of 64 files: the cost of committing on arrival.
 */
export function mergeRows(ctx: Context, pg: () => TestPostgres): Row[] {
  const stores: Array<{ name: string; open: () => Promise<Store> }> = [
    { name: 'SQLite', open: async () => openSqliteStore(mkdtempSync(path.join(ctx.tmp, 'merge-'))) },
    { name: 'PostgreSQL', open: async () => openPostgresStore(await pg().freshDatabase()) },
  ];
  const batches = [1, 64];
  return MERGE_SHAPES.flatMap((shape) =>
    stores.flatMap(({ name, open }) =>
      batches.map((batch) => ({
        name: `merge per file, ${shape.label}: ${name}${batch === 1 ? '' : `, ${batch} files a transaction`}`,
        scenario: 'cluster' as const,
        floor: `merge per file, ${shape.label}: SQLite`,
        run: async (): Promise<Sample> => {
          const store = await open();
          try {
            const job: JobSpec = { job: `bench|${shape.interval}|TSLA`, dataset: 'bench', interval: shape.interval, tickers: ['TSLA'] };
            await store.prepareJob(job, { clear: false });
            const files = Array.from({ length: MERGE_FILES }, (_, i) => completed(job, i, shape.bars));
            const queue = await store.openQueue([job]);
            await queue.offer(job, files.map((f) => f.file));
            await queue.claim(MERGE_FILES);
            const t = performance.now();
            for (let i = 0; i < files.length; i += batch) await queue.complete(files.slice(i, i + batch));
            const ms = (performance.now() - t) / MERGE_FILES;
            await queue.close();
            return { wallMs: ms, rssKb: undefined, cpuMs: undefined, files: 0, bytes: 0 };
          } finally {
            await store.close();
            if (store.kind === 'sqlite') rmSync(path.dirname(store.where), { recursive: true, force: true });
          }
        },
      })),
    ),
  );
}

function completed(job: JobSpec, i: number, bars: number): CompletedFile {
  const day = new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  const t0 = Date.parse(`${day}T09:00:00Z`);
  const rows = Array.from({ length: bars }, (_, m) => ({
    ticker: 'TSLA',
    time: t0 + m * 60_000,
    open: 100 + m,
    high: 101 + m,
    low: 99 + m,
    close: 100.5 + m,
    volume: 1000 + m,
    transactions: 10 + m,
  }));
  return { job, file: { key: `bench/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 1000, etag: `e${i}`, lastModified: undefined }, rows };
}
