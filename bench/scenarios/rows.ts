/**
 * The benchmark's scenarios as rows of the results table. Each row's `run` measures one run; the
 * runner interleaves rows round by round, so background noise spreads over all of them alike.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { STOCKS_DATASET } from '../../test/fixtures/generate.js';
import { S3_CREDENTIALS } from '../../test/fixtures/s3-server.js';
import { cliEnv, measure, type Measured } from '../lib/measure.js';
import { summariseProfiles } from '../lib/profile.js';
import { TSX_LOADER, type BenchStats } from '../lib/server.js';
import { allProfileRow, allRows } from './all.js';
import { checkRows } from './check.js';
import { clusterRows, mergeRows } from './cluster.js';
import { corporateActionsFixture } from '../../test/fixtures/actions.js';
import type { TestPostgres } from '../../test/fixtures/postgres.js';
import { startRestServer, type RestServer } from '../../test/fixtures/rest-server.js';
import type { Context, Row, Sample, Scenario, Workload } from '../lib/types.js';

const FLOOR = fileURLToPath(new URL('./floor.ts', import.meta.url));
/** Thread counts for the layouts: 20 downloads in flight spread over T threads of ceil(20 / T) each. */
const LAYOUT_THREADS = [20, 8, 4, 2, 1];
const WARM_CALLS = 20;
/** The REST stand-in's key: the benchmark's own. */
const BENCH_API_KEY = 'bench-rest-key';

/** The daily workload: TSLA 5y from the day files. */
const daily = (ctx: Context): Workload => ({ bucket: ctx.bucket, expected: ctx.expected, keysFile: ctx.keysFile, args: [], mbps: 0 });

/** Runs `fn` with the workload's bandwidth cap in force. */
async function capped<T>(ctx: Context, w: Workload, fn: () => Promise<T>): Promise<T> {
  if (w.mbps === 0) return fn();
  await ctx.server.setBandwidth(w.mbps);
  try {
    return await fn();
  } finally {
    await ctx.server.setBandwidth(0);
  }
}

/** What the CLI prints with --json (the fields the benchmark checks). */
interface CliReport {
  files: { listed: number; downloaded: number; skipped: number; failed: number };
  bytes: number;
}

const freshDir = (ctx: Context, label: string): string => mkdtempSync(path.join(ctx.tmp, `${label}-`));

function cliArgs(ctx: Context, symbols: string[], cacheDir: string, extra: string[]): string[] {
  return [path.join(ctx.app, 'bin', 'preload-market-data.js'), ...symbols, '--end', ctx.end, '--endpoint', ctx.server.endpoint, '--cache-dir', cacheDir, '--json', ...extra];
}

interface CliRun {
  m: Measured;
  report: CliReport;
  /** Object GETs and listings the server saw during the run. */
  gets: number;
  lists: number;
  server: BenchStats;
}

/** Runs the CLI as a user would (plus --json to check its report) and fails loudly on any failure. */
async function runCli(ctx: Context, symbols: string[], cacheDir: string, extra: string[] = [], nodeArgs: string[] = [], w = daily(ctx)): Promise<CliRun> {
  await ctx.server.resetStats();
  const args = [...nodeArgs, ...cliArgs(ctx, symbols, cacheDir, [...w.args, ...extra])];
  const m = await capped(ctx, w, () => measure(process.execPath, args, cliEnv()));
  const stats = await ctx.server.stats();
  if (m.code !== 0) throw new Error(`CLI ${symbols.join(' ')} ${extra.join(' ')} exited ${m.code}:\n${m.stderr}`);
  const report = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '') as CliReport;
  if (report.files.listed !== w.expected.length || report.files.failed > 0) {
    throw new Error(`CLI listed ${report.files.listed} files (expected ${w.expected.length}), ${report.files.failed} failed`);
  }
  return { m, report, gets: stats.totalGets, lists: stats.lists, server: stats };
}

/** The server's CPU time (is it near its limit?) and GETs in flight (did the client keep them up?). */
function serverExtra(stats: BenchStats): Record<string, number> {
  const { cpuMs, maxInFlight, getMs, getSpanMs } = stats;
  return {
    ...(cpuMs === undefined ? {} : { serverCpuMs: cpuMs }),
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
    ...(getMs === undefined || !getSpanMs ? {} : { avgInFlight: getMs / getSpanMs, getSpanMs }),
  };
}

function sampleOf(run: CliRun, extra: Record<string, number> = {}): Sample {
  const { m, report, gets, server } = run;
  return {
    wallMs: m.wallMs,
    rssKb: m.rssKb,
    cpuMs: m.cpuMs,
    files: report.files.downloaded,
    bytes: report.bytes,
    gets,
    extra: { ...extra, ...serverExtra(server) },
  };
}

/** A TSLA-style run into an empty cache that must download every file once. */
/** `extra` may be a function for arguments each run needs afresh (a new database, say). */
function coldRow(
  ctx: Context,
  name: string,
  scenario: Scenario,
  symbols: string[],
  extra: string[] | (() => Promise<string[]>) = [],
  w = daily(ctx),
  floor?: string,
): Row {
  return {
    name,
    scenario,
    ...(floor === undefined ? {} : { floor }),
    run: async () => {
      const dir = freshDir(ctx, scenario);
      try {
        const run = await runCli(ctx, symbols, dir, typeof extra === 'function' ? await extra() : extra, [], w);
        const { downloaded } = run.report.files;
        if (downloaded !== w.expected.length) throw new Error(`${name}: downloaded ${downloaded} of ${w.expected.length}`);
        return sampleOf(run);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export type FloorClient = 'http' | 'fetch' | 'sdk';

export interface FloorRun {
  measured: Measured;
  /** First GET to last byte. */
  transferMs: number;
  /** Process start to the first GET: node, tsx and the imports. */
  startupMs: number;
  files: number;
  bytes: number;
  /** The server's own view of the run. */
  server: BenchStats;
}

/** One run of the floor client (floor.ts) over every expected key. */
export async function runFloor(ctx: Context, client: FloorClient, w = daily(ctx)): Promise<FloorRun> {
  await ctx.server.resetStats();
  const args = ['--import', TSX_LOADER, FLOOR, '--client', client, '--endpoint', ctx.server.endpoint, '--bucket', w.bucket, '--keys', w.keysFile];
  const m = await capped(ctx, w, () => measure(process.execPath, [...args, '--in-flight', String(ctx.inFlight)], cliEnv()));
  if (m.code !== 0) throw new Error(`floor client exited ${m.code}:\n${m.stderr}`);
  const r = JSON.parse(m.stdout) as Omit<FloorRun, 'measured' | 'server'>;
  return { ...r, measured: m, server: await ctx.server.stats() };
}

function floorRow(ctx: Context, name: string, client: FloorClient, scenario: Scenario = 'floor', w = daily(ctx)): Row {
  return {
    name,
    scenario,
    floor: scenario === 'floor' ? 'floor' : name,
    run: async () => {
      const f = await runFloor(ctx, client, w);
      const { rssKb, cpuMs, wallMs } = f.measured;
      // The floor is the transfer alone; the process around it (node + tsx + imports) is noted.
      return {
        wallMs: f.transferMs,
        rssKb,
        cpuMs,
        files: f.files,
        bytes: f.bytes,
        gets: f.server.totalGets,
        extra: { startupMs: f.startupMs, processMs: wallMs, ...serverExtra(f.server) },
      };
    },
  };
}

/** CPU time so far of a running process, from /proc (Linux, 100 clock ticks a second); 0 elsewhere. */
function cpuSoFarMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Waits until `progress_keys` holds at least `half` rows, then SIGKILLs the run; returns its CPU time. */
async function killAtHalf(child: ChildProcess, dbFile: string, half: number): Promise<number> {
  let db: Database.Database | undefined;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error('the run to interrupt ended before half its files were recorded');
      // The -wal file appears once the CLI has switched the database to WAL: safe to read from then on.
      if (!db && existsSync(`${dbFile}-wal`)) db = new Database(dbFile, { readonly: true, fileMustExist: true });
      if (db && doneKeys(db) >= half) {
        const cpuMs = cpuSoFarMs(child.pid);
        child.kill('SIGKILL');
        return cpuMs;
      }
      await sleep(10);
    }
  } finally {
    db?.close();
  }
}

function doneKeys(db: Database.Database): number {
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM progress_keys').get() as { n: number }).n;
  } catch {
    return 0; // the schema is not there yet
  }
}

function resumeRow(ctx: Context): Row {
  return {
    name: 'resume (rerun)',
    scenario: 'resume',
    run: async () => {
      const dir = freshDir(ctx, 'resume');
      try {
        const child = spawn(process.execPath, cliArgs(ctx, ['TSLA'], dir, []), { env: cliEnv(), stdio: 'ignore' });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const dbFile = path.join(dir, 'market-data.sqlite');
        const killedCpuMs = await killAtHalf(child, dbFile, Math.ceil(ctx.expected.length / 2));
        await exited;
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        const done = doneKeys(db);
        db.close();
        const remaining = ctx.expected.length - done;
        const run = await runCli(ctx, ['TSLA'], dir);
        const { skipped, downloaded } = run.report.files;
        if (skipped !== done || downloaded !== remaining) {
          throw new Error(`resume: skipped ${skipped} (recorded ${done}), downloaded ${downloaded} (remaining ${remaining})`);
        }
        return sampleOf(run, { done, remaining, untimedCpuMs: killedCpuMs });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The REST stand-in with the fixture's corporate actions (TSLA's splits among them), started once. */
async function restServer(ctx: Context): Promise<RestServer> {
  ctx.rest ??= startRestServer({ apiKey: BENCH_API_KEY, fixtures: corporateActionsFixture() });
  return ctx.rest;
}

function warmRows(ctx: Context): Row[] {
  const dir = freshDir(ctx, 'warm');
  type Library = typeof import('../../src/index.js');
  type FetchSymbol = Library['fetchSymbol'];
  let filled: Promise<FetchSymbol> | undefined;
  // One full cold run fills the cache the rows read, and TSLA's corporate actions are stored; the
  // library is loaded from the build, like a user's import.
  const index = pathToFileURL(path.join(ctx.app, 'dist', 'index.js')).href;
  const fill = (): Promise<FetchSymbol> =>
    (filled ??= runCli(ctx, ['TSLA'], dir).then(async () => {
      const lib = (await import(index)) as Library;
      const rest = await restServer(ctx);
      await lib.corporateActions('TSLA', { cacheDir: dir, apiKey: BENCH_API_KEY, apiEndpoint: rest.url, refresh: true });
      return lib.fetchSymbol;
    }));
  const cli: Row = {
    name: 'warm CLI rerun',
    scenario: 'warm',
    setup: async () => void (await fill()),
    run: async () => {
      const run = await runCli(ctx, ['TSLA'], dir);
      if (run.report.files.downloaded !== 0 || run.gets !== 0) throw new Error(`warm CLI rerun downloaded ${run.report.files.downloaded} files`);
      return sampleOf(run, { lists: run.lists });
    },
  };
  // The same read raw and split-adjusted (the default, with fresh stored actions: no request either).
  const inProcess = (name: string, adjust: 'none' | 'splits'): Row => ({
    name,
    scenario: 'warm',
    runs: WARM_CALLS,
    setup: async () => void (await fill()),
    run: async () => {
      const fetchSymbol = await fill();
      const rest = await restServer(ctx);
      await ctx.server.resetStats();
      const restBefore = rest.requests.length;
      const started = performance.now();
      const bars = await fetchSymbol('TSLA', {
        period: '5y',
        end: ctx.end,
        cacheDir: dir,
        endpoint: ctx.server.endpoint,
        credentials: S3_CREDENTIALS,
        adjust,
        apiKey: BENCH_API_KEY,
        apiEndpoint: rest.url,
      });
      const wallMs = performance.now() - started;
      const { requests } = await ctx.server.stats();
      const restRequests = rest.requests.length - restBefore;
      if (requests > 0 || restRequests > 0 || bars.length < ctx.expected.length - 10) {
        throw new Error(`${name}: ${bars.length} bars, ${requests} requests to the S3 server and ${restRequests} to the REST server (expected none)`);
      }
      return { wallMs, rssKb: undefined, cpuMs: undefined, files: 0, bytes: 0, gets: 0 };
    },
  });
  return [cli, inProcess('warm fetchSymbol', 'none'), inProcess('warm fetchSymbol, split-adjusted', 'splits')];
}

/**
 * A month of minute bars read from the store (TSLA's minute month, filled once), raw and
 * split-adjusted, with a split in the middle of the month so that half the bars are scaled.
 */
function adjustedMinuteRows(ctx: Context, w: Workload): Row[] {
  const dir = freshDir(ctx, 'adjusted-minutes');
  type Library = typeof import('../../src/index.js');
  let filled: Promise<{ lib: Library; start: string; end: string }> | undefined;
  const index = pathToFileURL(path.join(ctx.app, 'dist', 'index.js')).href;
  const fill = () =>
    (filled ??= runCli(ctx, ['TSLA'], dir, [], [], w).then(async () => {
      const lib = (await import(index)) as Library;
      const days = [...new Set(w.expected.map((e) => /(\d{4}-\d{2}-\d{2})\.csv\.gz$/.exec(e.key)?.[1] ?? ''))].sort();
      const [start, mid, end] = [days[0] ?? '', days[Math.floor(days.length / 2)] ?? '', days.at(-1) ?? ''];
      const fixture = corporateActionsFixture();
      const tsla = fixture.get('TSLA');
      tsla?.splits.push({ ticker: 'TSLA', executionDate: mid, splitFrom: 1, splitTo: 2, adjustmentType: 'forward_split', historicalAdjustmentFactor: 0.5, id: 'bench-mid' });
      const rest = await startRestServer({ apiKey: BENCH_API_KEY, fixtures: fixture });
      try {
        await lib.corporateActions('TSLA', { cacheDir: dir, apiKey: BENCH_API_KEY, apiEndpoint: rest.url, refresh: true });
      } finally {
        await rest.close();
      }
      return { lib, start, end };
    }));
  const row = (name: string, adjust: 'none' | 'splits'): Row => ({
    name,
    scenario: 'minute',
    runs: WARM_CALLS,
    setup: async () => void (await fill()),
    run: async () => {
      const { lib, start, end } = await fill();
      const started = performance.now();
      const bars = await lib.readBars('TSLA', { cacheDir: dir, interval: '1m', start, end, adjust });
      const wallMs = performance.now() - started;
      if (bars.length === 0) throw new Error(`${name}: no bars`);
      return { wallMs, rssKb: undefined, cpuMs: undefined, files: 0, bytes: 0, gets: 0, extra: { bars: bars.length } };
    },
  });
  return [row('minute month readBars, raw', 'none'), row('minute month readBars, split-adjusted', 'splits')];
}

/**
 * A month of minute files (TSLA --interval 1m) against the floor client over the same files: over a
 * 1 Gbit/s link (the fast server's cap), over loopback with no cap, and with files ~6x larger.
 */
function minuteRows(ctx: Context): Row[] {
  const m = ctx.minute;
  if (!m) throw new Error('the minute scenario needs its workloads in the context');
  const tsla = ['TSLA'];
  return [
    floorRow(ctx, 'minute floor', 'http', 'minute', m.month),
    coldRow(ctx, 'minute cold', 'minute', tsla, [], m.month, 'minute floor'),
    floorRow(ctx, 'minute floor, no cap', 'http', 'minute', m.uncapped),
    coldRow(ctx, 'minute cold, no cap', 'minute', tsla, [], m.uncapped, 'minute floor, no cap'),
    floorRow(ctx, 'minute large floor', 'http', 'minute', m.large),
    coldRow(ctx, 'minute large cold', 'minute', tsla, [], m.large, 'minute large floor'),
    mirrorRow(ctx, 'minute large, from the raw mirror', m.large),
    ...adjustedMinuteRows(ctx, m.month),
  ];
}

/**
 * Every file from the raw mirror (--keep-raw), none downloaded: a TSLA run fills the mirror once,
 * then each timed run extracts AAPL from it (--clear-progress, so every file is read again). The
 * number to watch is peak RSS: a mirrored file streams from disk as a download does.
 */
function mirrorRow(ctx: Context, name: string, w: Workload): Row {
  const dir = freshDir(ctx, 'mirror');
  const keep = ['--keep-raw'];
  let filled: Promise<unknown> | undefined;
  return {
    name,
    scenario: 'minute',
    setup: async () => void (await (filled ??= runCli(ctx, ['TSLA'], dir, keep, [], w))),
    run: async () => {
      const run = await runCli(ctx, ['AAPL'], dir, [...keep, '--clear-progress'], [], w);
      const { fromRawMirror } = run.report as CliReport & { fromRawMirror: number };
      if (fromRawMirror !== w.expected.length || run.gets !== 0) {
        throw new Error(`${name}: ${fromRawMirror} of ${w.expected.length} files from the mirror, ${run.gets} GETs (expected none)`);
      }
      return sampleOf(run, { fromRawMirror });
    },
  };
}

/**
 * rclone, the reference a user would reach for: `rclone copy` of the dataset's whole prefix with 20
 * transfers (its own listing included; a key list with --files-from would cost a HEAD per key),
 * and the same followed by what a user would script to get TSLA out: zcat | grep '^TSLA,' over
 * the copied files, on both cores (xargs -P2). Installed with `apt-get install -y rclone`.
 */
function referenceRows(ctx: Context): Row[] {
  if (spawnSync('rclone', ['version'], { stdio: 'ignore' }).status !== 0) {
    ctx.notes.push('reference: skipped, rclone is not on PATH (apt-get install -y rclone to compare against it).');
    return [];
  }
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  // An rclone remote named "bench" configured entirely from the environment; rclone fails with
  // LoadCustomCABundleError if AWS_CA_BUNDLE is set, hence its removal above.
  const remote = {
    ...env,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: ctx.server.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    // The fast server speaks ListObjectsV2 only; rclone's default for provider Other is v1.
    RCLONE_CONFIG_BENCH_LIST_VERSION: '2',
  };
  const copy = (dest: string): string[] => [
    'rclone', 'copy', `bench:${ctx.bucket}/${STOCKS_DATASET}`, dest,
    '--transfers', String(ctx.inFlight), '--checkers', String(ctx.inFlight), '--fast-list',
  ];
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const row = (name: string, extract: boolean): Row => ({
    name,
    scenario: 'reference',
    run: async () => {
      const dest = freshDir(ctx, 'rclone');
      try {
        await ctx.server.resetStats();
        const out = path.join(dest, 'TSLA.csv');
        // One shell, so CPU and peak RSS (GNU time: the waited-for children too) cover every step.
        const script = extract
          ? `${copy(dest).map(quote).join(' ')} && find ${quote(dest)} -name '*.csv.gz' -print0 | xargs -0 -P2 -n 100 sh -c 'zcat "$@" | grep "^TSLA,"' _ > ${quote(out)}`
          : copy(dest).map(quote).join(' ');
        const m = await measure('sh', ['-c', script], remote);
        if (m.code !== 0) throw new Error(`${name} exited ${m.code}:\n${m.stderr}`);
        const { totalGets } = await ctx.server.stats();
        // rclone retries on its own (low-level retries): count what it copied, not its GETs.
        const copied = spawnSync('find', [dest, '-name', '*.csv.gz'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
        if (copied !== ctx.expected.length) throw new Error(`${name}: copied ${copied} files, expected ${ctx.expected.length}`);
        if (extract) {
          const rows = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
          if (rows !== ctx.tslaRows) throw new Error(`${name}: ${rows} TSLA rows, expected ${ctx.tslaRows}`);
        }
        const bytes = ctx.expected.reduce((sum, f) => sum + f.size, 0);
        return { wallMs: m.wallMs, rssKb: m.rssKb, cpuMs: m.cpuMs, files: ctx.expected.length, bytes, gets: totalGets };
      } finally {
        rmSync(dest, { recursive: true, force: true });
      }
    },
  });
  return [row('reference rclone', false), row('reference rclone + zcat | grep', true)];
}

function profileRow(ctx: Context): Row {
  return {
    name: 'cold --cpu-prof',
    scenario: 'profile',
    runs: 1,
    run: async () => {
      const dir = freshDir(ctx, 'profile');
      try {
        const run = await runCli(ctx, ['TSLA'], dir, [], ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir]);
        ctx.profile = summariseProfiles(ctx.profileDir, ctx.app);
        return sampleOf(run);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The rows of the selected scenarios, in table order. */
export function buildRows(ctx: Context, selected: ReadonlySet<Scenario>): Row[] {
  const rows: Row[] = [];
  const tsla = ['TSLA'];
  if (selected.has('floor')) rows.push(floorRow(ctx, 'floor', 'http'), floorRow(ctx, 'floor (fetch)', 'fetch'), floorRow(ctx, 'floor (SDK)', 'sdk'));
  if (selected.has('cold')) rows.push(coldRow(ctx, 'cold', 'cold', tsla));
  if (selected.has('sequential')) rows.push(coldRow(ctx, 'sequential', 'sequential', tsla, ['--workers', '1']));
  if (selected.has('layouts')) {
    for (const t of LAYOUT_THREADS) {
      const label = `layout ${t}x${Math.ceil(ctx.inFlight / t)}`;
      rows.push(coldRow(ctx, label, 'layouts', tsla, ['--workers', String(ctx.inFlight), '--threads', String(t)]));
    }
  }
  if (selected.has('multi')) {
    rows.push(coldRow(ctx, 'multi: TSLA', 'multi', tsla));
    rows.push(coldRow(ctx, 'multi: TSLA AAPL MSFT', 'multi', ['TSLA', 'AAPL', 'MSFT']));
  }
  if (selected.has('resume')) rows.push(resumeRow(ctx));
  if (selected.has('warm')) rows.push(...warmRows(ctx));
  if (selected.has('minute')) rows.push(...minuteRows(ctx));
  if (selected.has('reference')) rows.push(...referenceRows(ctx));
  if (selected.has('profile')) rows.push(profileRow(ctx));
  const pg = (): TestPostgres => {
    if (!ctx.postgres) throw new Error('the cluster and all scenarios need their PostgreSQL server');
    return ctx.postgres;
  };
  if (selected.has('all')) rows.push(...allRows(ctx, ctx.storeDir, pg), ...(selected.has('profile') ? [allProfileRow(ctx)] : []));
  if (selected.has('check')) rows.push(...checkRows(ctx));
  if (selected.has('cluster')) {
    // One process on a fresh PostgreSQL store instead of the SQLite file (its CPU column is the CLI's alone).
    const store = async (): Promise<string[]> => ['--store', await pg().freshDatabase()];
    rows.push(coldRow(ctx, 'cold, PostgreSQL store (1 process)', 'cluster', tsla, store), ...clusterRows(ctx, pg), ...mergeRows(ctx, pg));
  }
  return rows;
}
