/**
 * The whole-market scenario: `--all` over the bench's 5y of daily files (~11k tickers a
 * file) into SQLite and PostgreSQL, against DuckDB loading the same files from local disk; three
 * processes on one PostgreSQL store against one, each with its own link; the minute month; and a
 * `sync` a week after a 5y cache of three symbols was filled.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3_CREDENTIALS } from '../../test/fixtures/s3-server.js';
import type { TestPostgres } from '../../test/fixtures/postgres.js';
import { cliEnv, measure, type Measured } from '../lib/measure.js';
import { formatProfile, summariseProfiles } from '../lib/profile.js';
import { TSX_LOADER } from '../lib/server.js';
import type { Context, Row, Sample, Workload } from '../lib/types.js';

const DUCKDB_LOAD = fileURLToPath(new URL('./duckdb-load.ts', import.meta.url));
/** Each process's own link in the shared-store rows, as the cluster scenario measures them. */
export const ALL_MBPS = 200;
/** The three symbols of the sync row's cache, and how far behind it is. */
const SYNC_SYMBOLS = ['TSLA', 'AAPL', 'MSFT'];
const SYNC_BEHIND_DAYS = 7;

export const ALL_ROWS = {
  sqlite: 'all: --all 5y daily, SQLite',
  duckdb: 'all: DuckDB read_csv, same files on local disk',
  postgres: 'all: --all 5y daily, PostgreSQL',
  one: `all: 1 process on PostgreSQL, ${ALL_MBPS} Mbit/s`,
  three: `all: 3 processes on PostgreSQL, ${ALL_MBPS} Mbit/s each`,
  minute: 'all: --all minute month',
  warm: 'all: warm fetchSymbol TSLA 5y, whole-market cache',
  profile: 'all: --all 5y daily, SQLite, --cpu-prof',
  sync: 'sync: a week of new files, 5y cache of 3 symbols',
} as const;

interface Report {
  files: { listed: number; downloaded: number; failed: number };
  bytes: number;
  bars: number;
  tickers?: number;
}

const bin = (ctx: Context): string => path.join(ctx.app, 'bin', 'preload-market-data.js');

/**
 * One or more CLI processes at once; fails loudly unless every file of `w` was downloaded once
 * between them. `keep`: cache directories of the caller's (one per endpoint), left filled for it.
 */
export async function runAll(ctx: Context, w: Workload, extra: string[], endpoints: string[] = [ctx.server.endpoint], nodeArgs: string[] = [], keep?: string[]): Promise<Sample> {
  const dirs = keep ?? endpoints.map(() => mkdtempSync(path.join(ctx.tmp, 'all-')));
  try {
    await ctx.server.resetStats();
    const store = extra[extra.indexOf('--store') + 1];
    const pgBefore = extra.includes('--store') && store !== undefined ? serverCpuMs(store) : undefined;
    const started = performance.now();
    const runs = await Promise.all(
      endpoints.map((endpoint, i) =>
        measure(process.execPath, [...nodeArgs, ...extraNodeArgs(), bin(ctx), '--all', ...w.args, '--end', ctx.end, '--endpoint', endpoint, '--cache-dir', dirs[i] ?? '', '--json', ...extra], cliEnv()),
      ),
    );
    const wallMs = performance.now() - started;
    const pgCpuMs = pgBefore === undefined || store === undefined ? undefined : (serverCpuMs(store) ?? 0) - pgBefore;
    const stats = await ctx.server.stats();
    const reports = runs.map((m: Measured) => {
      if (m.code !== 0) throw new Error(`--all exited ${m.code}:\n${m.stderr}`);
      return JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '') as Report;
    });
    const downloaded = reports.reduce((n, r) => n + r.files.downloaded, 0);
    if (downloaded !== w.expected.length || stats.totalGets !== w.expected.length) {
      throw new Error(`--all: ${downloaded} files downloaded, ${stats.totalGets} GETs, for ${w.expected.length} files`);
    }
    const rows = reports.reduce((n, r) => n + r.bars, 0);
    // What the rows take on disk (SQLite: the cache file after its WAL is checkpointed at close).
    const dbBytes = extra.includes('--store') ? 0 : dirs.reduce((n, d) => n + fileSize(path.join(d, 'market-data.sqlite')), 0);
    return {
      wallMs,
      rssKb: Math.max(...runs.map((m) => m.rssKb ?? 0)),
      cpuMs: runs.reduce((n, m) => n + (m.cpuMs ?? 0), 0),
      files: downloaded,
      bytes: reports.reduce((n, r) => n + r.bytes, 0),
      gets: stats.totalGets,
      extra: { rows, rowsPerS: rows / (wallMs / 1000), tickers: Math.max(...reports.map((r) => r.tickers ?? 0)), processes: endpoints.length, ...(dbBytes > 0 ? { dbBytes } : {}), ...(pgCpuMs === undefined ? {} : { pgCpuMs }) },
    };
  } finally {
    if (keep === undefined) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * Node flags for every CLI process of these rows from BENCH_ALL_NODE_ARGS (space-separated, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/p`): NODE_OPTIONS refuses --cpu-prof, and would reach the bench too.
 */
function extraNodeArgs(): string[] {
  return (process.env['BENCH_ALL_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
}

/** The day files as DuckDB reads them: `<dir>/YYYY/MM/YYYY-MM-DD.csv.gz`, links to the bench store's objects. */
function duckDir(ctx: Context, storeDir: string): string {
  const dir = path.join(ctx.tmp, 'duckdb-files');
  // A row's setup runs once per build compared (--compare): start afresh each time.
  rmSync(dir, { recursive: true, force: true });
  for (const f of ctx.expected) {
    const target = path.join(dir, f.key);
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(path.join(storeDir, ctx.bucket, `${f.key}._S3rver_object`), target);
  }
  return dir;
}

/** Where an --all run's time goes: one run under --cpu-prof, its summary added to the notes (`--scenarios all,profile`). */
export function allProfileRow(ctx: Context): Row {
  const profiles = path.join(ctx.tmp, 'all-profile');
  const daily: Workload = { bucket: ctx.bucket, expected: ctx.expected, keysFile: ctx.keysFile, args: ['--period', '5y'], mbps: 0 };
  return {
    name: ALL_ROWS.profile,
    scenario: 'all',
    runs: 1,
    floor: ALL_ROWS.duckdb,
    run: async () => {
      mkdirSync(profiles, { recursive: true });
      const sample = await runAll(ctx, daily, [], [ctx.server.endpoint], ['--cpu-prof', '--cpu-prof-dir', profiles]);
      ctx.notes.push(`--all profile (${ALL_ROWS.profile}):\n${formatProfile(summariseProfiles(profiles, ctx.app))}`);
      return sample;
    },
  };
}

export function allRows(ctx: Context, storeDir: string, pg: () => TestPostgres): Row[] {
  const daily: Workload = { bucket: ctx.bucket, expected: ctx.expected, keysFile: ctx.keysFile, args: ['--period', '5y'], mbps: 0 };
  const store = async (): Promise<string[]> => ['--store', await pg().freshDatabase()];
  let files = '';
  const rows: Row[] = [
    { name: ALL_ROWS.sqlite, scenario: 'all', floor: ALL_ROWS.duckdb, run: () => runAll(ctx, daily, []) },
    {
      name: ALL_ROWS.duckdb,
      scenario: 'all',
      floor: ALL_ROWS.duckdb,
      setup: async () => {
        files = duckDir(ctx, storeDir);
      },
      run: async () => {
        const m = await measure(process.execPath, ['--import', TSX_LOADER, DUCKDB_LOAD, files], cliEnv());
        if (m.code !== 0) throw new Error(`DuckDB load exited ${m.code}:\n${m.stderr}`);
        const { rows, loadMs } = JSON.parse(m.stdout.trim()) as { rows: number; loadMs: number };
        return { wallMs: m.wallMs, rssKb: m.rssKb, cpuMs: m.cpuMs, files: ctx.expected.length, bytes: 0, extra: { rows, rowsPerS: rows / (m.wallMs / 1000), loadMs } };
      },
    },
    { name: ALL_ROWS.postgres, scenario: 'all', floor: ALL_ROWS.duckdb, run: async () => runAll(ctx, daily, await store()) },
    {
      name: ALL_ROWS.one,
      scenario: 'all',
      floor: ALL_ROWS.one,
      run: async () => runAll(ctx, daily, await store(), await ctx.server.ownLinks(1, ALL_MBPS)),
    },
    {
      name: ALL_ROWS.three,
      scenario: 'all',
      floor: ALL_ROWS.one,
      run: async () => {
        const s = await store();
        return runAll(ctx, daily, s, await ctx.server.ownLinks(3, ALL_MBPS));
      },
    },
  ];
  const month = ctx.minute?.month;
  if (month) rows.push({ name: ALL_ROWS.minute, scenario: 'all', floor: ALL_ROWS.minute, run: () => runAll(ctx, { ...month, mbps: 0 }, ['--interval', '1m', '--start', firstDay(month)]) });
  rows.push(warmRow(ctx, daily), syncRow(ctx));
  return rows;
}

/** Warm reads of one ticker's 5y from a cache that holds the whole market (filled once by an --all run). */
function warmRow(ctx: Context, daily: Workload): Row {
  const dir = path.join(ctx.tmp, 'all-warm');
  type Library = typeof import('../../src/index.js');
  let lib: Library | undefined;
  return {
    name: ALL_ROWS.warm,
    scenario: 'all',
    runs: 20,
    setup: async () => {
      const m = await measure(process.execPath, [bin(ctx), '--all', ...daily.args, '--end', ctx.end, '--endpoint', ctx.server.endpoint, '--cache-dir', dir, '--json'], cliEnv());
      if (m.code !== 0) throw new Error(`warm setup exited ${m.code}:\n${m.stderr}`);
      lib = (await import(pathToFileURL(path.join(ctx.app, 'dist', 'index.js')).href)) as Library;
    },
    run: async () => {
      if (!lib) throw new Error('warm row not set up');
      await ctx.server.resetStats();
      const started = performance.now();
      const bars = await lib.fetchSymbol('TSLA', { period: '5y', end: ctx.end, cacheDir: dir, endpoint: ctx.server.endpoint, credentials: S3_CREDENTIALS, adjust: 'none' });
      const wallMs = performance.now() - started;
      const { requests } = await ctx.server.stats();
      if (requests > 0 || bars.length < ctx.tslaRows) throw new Error(`${ALL_ROWS.warm}: ${bars.length} bars, ${requests} requests (expected ${ctx.tslaRows} bars, none)`);
      return { wallMs, rssKb: undefined, cpuMs: undefined, files: 0, bytes: 0, gets: 0 };
    },
  };
}

/** A 5y cache of three symbols filled up to a week before the last file, then `sync` (a fresh copy of that cache each run). */
function syncRow(ctx: Context): Row {
  const base = path.join(ctx.tmp, 'sync-base');
  const behind = addDays(ctx.end, -SYNC_BEHIND_DAYS);
  return {
    name: ALL_ROWS.sync,
    scenario: 'all',
    floor: ALL_ROWS.sync,
    setup: async () => {
      const m = await measure(process.execPath, [bin(ctx), ...SYNC_SYMBOLS, '--period', '5y', '--end', behind, '--endpoint', ctx.server.endpoint, '--cache-dir', base, '--json'], cliEnv());
      if (m.code !== 0) throw new Error(`sync setup exited ${m.code}:\n${m.stderr}`);
    },
    run: async () => {
      const dir = mkdtempSync(path.join(ctx.tmp, 'sync-'));
      try {
        copyFileSync(path.join(base, 'market-data.sqlite'), path.join(dir, 'market-data.sqlite'));
        await ctx.server.resetStats();
        const m = await measure(process.execPath, [bin(ctx), 'sync', '--endpoint', ctx.server.endpoint, '--cache-dir', dir, '--json'], cliEnv());
        if (m.code !== 0) throw new Error(`sync exited ${m.code}:\n${m.stderr}`);
        const stats = await ctx.server.stats();
        const doc = JSON.parse(m.stdout.trim()) as { parts: Report[] };
        const downloaded = doc.parts.reduce((n, p) => n + p.files.downloaded, 0);
        return { wallMs: m.wallMs, rssKb: m.rssKb, cpuMs: m.cpuMs, files: downloaded, bytes: 0, gets: stats.totalGets, extra: { lists: stats.lists } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function firstDay(w: { expected: Array<{ key: string }> }): string {
  return w.expected.map((f) => /(\d{4}-\d{2}-\d{2})\.csv\.gz$/.exec(f.key)?.[1] ?? '').sort()[0] ?? '';
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * CPU time of the PostgreSQL server behind `url` (Linux): its postmaster's own and reaped children's
 * (a backend's CPU lands there when its session ends) plus its live children's, in ms. Undefined
 * where /proc cannot say.
 */
function serverCpuMs(url: string): number | undefined {
  const port = new URL(url).port;
  const tick = 10; // ms per clock tick (USER_HZ 100 on Linux)
  const stat = (pid: string): string[] | undefined => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const postmaster = pids.find((p) => {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return args[0]?.endsWith('/postgres') === true && args[args.indexOf('-p') + 1] === port;
    } catch {
      return false;
    }
  });
  const own = postmaster === undefined ? undefined : stat(postmaster);
  if (postmaster === undefined || own === undefined) return undefined;
  // Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  const cpu = (f: string[], children: boolean): number => (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) * tick;
  let ms = cpu(own, true);
  for (const p of pids) {
    const f = stat(p);
    if (f !== undefined && f[1] === postmaster) ms += cpu(f, true);
  }
  return ms;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
