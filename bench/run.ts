/**
 * `npm run bench`: how fast preload-market-data fills a cache, against what the server allows
 * (bench/README.md lists every scenario and where its results go). Flags:
 *   --runs N          runs per scenario (default 3); median and min–max are reported
 *   --latency-ms N    injected per-request server latency (default 20)
 *   --scenarios a,b   any of floor, cold, sequential, layouts, multi, resume, warm, minute, reference, profile, cluster, all, check
 *   --quick           1 run of floor, cold, resume and warm: a smoke test
 *   --profile         also profile one cold run (node --cpu-prof) and summarise it
 *   --server KIND     fast (default: bench/lib/fast-s3.ts, in memory) or s3rver
 *   --rows a,b        only the rows whose name contains one of these (e.g. `--scenarios all --rows PostgreSQL`);
 *                     separated by ';' instead when a name holds a comma (`--rows '5y daily, SQLite;DuckDB'`)
 *   --compare DIR,..  also run every selected row with the build in each DIR (its bin/, dist/, package.json), as
 *                     "<row> [B]", "[C]"..., round by round beside this build's: an A/B of builds in one run
 *   --out FILE        where the results go (default bench/results/default.json; a run of other scenarios
 *                     names its own file, e.g. bench/results/cluster.json, so the default run's stays whole)
 * Benchmarks with runs of their own, their flags after the name:
 *   export            bench/scenarios/export.ts: `export` against DuckDB's own COPY
 *   serve             bench/scenarios/serve.ts: serve under load against a bare node:http floor
 *   sqlite-bulk       bench/stores/sqlite-bulk.ts: the SQLite store's bulk layout measured alone
 *   pg-bulk           bench/stores/pg-bulk.ts: the PostgreSQL store's bulk layout measured alone
 *   ticker-reads      bench/stores/ticker-reads.ts: one ticker's 5y from a whole-market SQLite store, with and without its index by ticker
 *   pg-ticker-reads   bench/stores/pg-ticker-reads.ts: the same read on PostgreSQL: day by day, along its index by ticker, plans and costs
 *   grouped-adjust    bench/stores/grouped-adjust.ts: serve's adjusted grouped daily of a whole-market day on SQLite, a getActions per ticker against one splitsAfter
 *   listings          bench/stores/listings.ts: serve's splits and dividends listings without a ticker on a whole-market store, SQLite and PostgreSQL
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, type as osType, release } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateDataset, STOCKS_DATASET, STOCKS_MINUTE_DATASET } from '../test/fixtures/generate.js';
import { measureCpuFloor, type CpuFloor } from './scenarios/cpu-floor.js';
import { median, rusageMethod } from './lib/measure.js';
import { formatProfile } from './lib/profile.js';
import { evaluateTargets, formatMs, formatResults, formatTargets, summariseRow, type RowResult } from './scenarios/report.js';
import { buildRows, runFloor } from './scenarios/rows.js';
import { SCENARIOS, type Context, type Sample, type Scenario, type Workload } from './lib/types.js';
import { startBenchServer, type ServerKind } from './lib/server.js';
import { startPostgres } from '../test/fixtures/postgres.js';

// `npm run bench -- serve`: serve's HTTP shell under load against a bare node:http floor, a run of its own.
if (process.argv[2] === 'serve') {
  const { runServeBench } = await import('./scenarios/serve.js');
  await runServeBench(process.argv.slice(3));
  process.exit(0);
}
// `npm run bench -- export`: the export benchmark, a run of its own.
if (process.argv[2] === 'export') {
  const { runExportBench } = await import('./scenarios/export.js');
  await runExportBench(process.argv.slice(3));
  process.exit(0);
}
// The stores measured alone: scripts that parse their own flags and spawn their own children, so
// each runs as a child process with this one's loader, as `npx tsx bench/stores/<name>.ts` would.
const STORE_BENCHES: Record<string, string> = {
  'sqlite-bulk': 'stores/sqlite-bulk.ts',
  'pg-bulk': 'stores/pg-bulk.ts',
  'ticker-reads': 'stores/ticker-reads.ts',
  'pg-ticker-reads': 'stores/pg-ticker-reads.ts',
  'grouped-adjust': 'stores/grouped-adjust.ts',
  listings: 'stores/listings.ts',
};
const storeBench = STORE_BENCHES[process.argv[2] ?? ''];
if (storeBench !== undefined) {
  const script = fileURLToPath(new URL(storeBench, import.meta.url));
  const child = spawnSync(process.execPath, [...process.execArgv, script, ...process.argv.slice(3)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA_DIR = path.join(ROOT, '.bench-data');
// A fixed end date keeps the cached dataset valid (and the 5y window the same) from one day to the next.
const END_DATE = '2026-11-20';
const FILLER_TICKERS = 11_000;
const IN_FLIGHT = 20;
const DEFAULT_SCENARIOS: Scenario[] = ['floor', 'cold', 'sequential', 'layouts', 'multi', 'resume', 'warm', 'minute', 'reference'];
/** The minute scenario: a month of files of a realistic ~29 MB, and three days of ~175 MB files. */
const MINUTE_FROM = '2026-10-21';
const MINUTE_LARGE_FROM = '2026-11-18';
const MINUTE_LARGE_TICKERS = 66_000;
const MINUTE_LARGE_BUCKET = 'flatfiles-large';
/** The link the minute scenario is measured over, in megabits a second (the fast server paces its responses). */
const MINUTE_MBPS = 1_000;
const QUICK_SCENARIOS: Scenario[] = ['floor', 'cold', 'resume', 'warm'];

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    'latency-ms': { type: 'string' },
    scenarios: { type: 'string' },
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    server: { type: 'string' },
    out: { type: 'string' },
    rows: { type: 'string' },
    compare: { type: 'string' },
  },
});

function intFlag(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`Expected --${name} to be an integer >= ${min}, got \`${value}\``);
  return n;
}

const runs = flags.quick ? 1 : intFlag('runs', flags.runs, 3, 1);
const latencyMs = intFlag('latency-ms', flags['latency-ms'], 20, 0);
const serverKind = (flags.server ?? 'fast') as ServerKind;
if (serverKind !== 'fast' && serverKind !== 's3rver') throw new Error(`Expected --server to be fast or s3rver, got \`${String(serverKind)}\``);
const requested = flags.scenarios?.split(',').map((s) => s.trim()) ?? (flags.quick ? QUICK_SCENARIOS : DEFAULT_SCENARIOS);
for (const s of requested) {
  if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`Unknown scenario \`${s}\`; expected some of ${SCENARIOS.join(', ')}`);
}
const selected = new Set<Scenario>([...(requested as Scenario[]), ...(flags.profile ? (['profile'] as const) : [])]);
// Split on ';' when there is one: row names hold commas.
const rowFilter = flags.rows?.split(flags.rows.includes(';') ? ';' : ',').map((s) => s.trim()).filter((s) => s !== '');
const wantsRow = (name: string): boolean => rowFilter === undefined || rowFilter.some((f) => name.includes(f));

if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');

const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** Five years ending on END_DATE: the window `--period 5y --end END_DATE` asks for. */
function fiveYearStart(end: string): string {
  const d = new Date(`${end}T00:00:00Z`);
  d.setUTCFullYear(d.getUTCFullYear() - 5);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

log(`Dataset: ${FILLER_TICKERS} filler tickers, ending ${END_DATE} (generated once into ${path.relative(ROOT, DATA_DIR)}/, ~1 min the first time)`);
let t = performance.now();
const ds = await generateDataset({ dir: path.join(DATA_DIR, 'store'), fillerTickers: FILLER_TICKERS, endDate: END_DATE });
const start = fiveYearStart(END_DATE);
const expected = ds.files.filter((f) => f.dataset === STOCKS_DATASET && f.day >= start && f.day <= END_DATE).map(({ key, size }) => ({ key, size }));
const expectedBytes = expected.reduce((sum, f) => sum + f.size, 0);
log(`  ${ds.files.length} files, of which ${expected.length} stock days (${(expectedBytes / 1e6).toFixed(0)} MB) in ${start}..${END_DATE} (${formatMs(performance.now() - t)})`);

const tmp = mkdtempSync(path.join(tmpdir(), 'pmd-bench-'));
// Read with the build it snapshots: commits made while the benchmark runs are not credited with it.
const code = codeVersion();
const app = snapshotBuild(tmp);
const keysFile = path.join(tmp, 'keys.json');
writeFileSync(keysFile, JSON.stringify(expected));
const profileDir = path.join(DATA_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
if (selected.has('profile')) mkdirSync(profileDir, { recursive: true });

let minute: Context['minute'];
const minuteDirs: string[] = [];
// The all scenario's minute row needs the minute files too (unless --rows leaves it out).
if (selected.has('minute') || selected.has('cluster') || (selected.has('all') && wantsRow('all: --all minute month'))) {
  if (serverKind !== 'fast') throw new Error('The minute and cluster scenarios need --server fast: they cap the bandwidth, which s3rver cannot do');
  log(`Minute files: ${MINUTE_FROM}..${END_DATE}, and ${MINUTE_LARGE_FROM}..${END_DATE} with ${MINUTE_LARGE_TICKERS} tickers (generated once, a few minutes the first time)`);
  t = performance.now();
  const month = await generateDataset({ dir: path.join(DATA_DIR, 'minute-store'), endDate: END_DATE, stockYears: 0, cryptoYears: 0, minuteFrom: MINUTE_FROM });
  const large = await generateDataset({
    dir: path.join(DATA_DIR, 'minute-large-store'),
    bucket: MINUTE_LARGE_BUCKET,
    endDate: END_DATE,
    stockYears: 0,
    cryptoYears: 0,
    minuteFrom: MINUTE_LARGE_FROM,
    minuteTickers: MINUTE_LARGE_TICKERS,
  });
  minuteDirs.push(month.dir, large.dir);
  const workload = (name: string, files: typeof ds.files, bucket: string, mbps: number): Workload => {
    const wanted = files.filter((f) => f.dataset === STOCKS_MINUTE_DATASET).map(({ key, size }) => ({ key, size }));
    const file = path.join(tmp, `keys-${name}.json`);
    writeFileSync(file, JSON.stringify(wanted));
    const args = ['--interval', '1m', ...(bucket === ds.bucket ? [] : ['--bucket', bucket])];
    return { bucket, expected: wanted, keysFile: file, args, mbps };
  };
  minute = {
    month: workload('minute', month.files, ds.bucket, MINUTE_MBPS),
    uncapped: workload('minute-uncapped', month.files, ds.bucket, 0),
    large: workload('minute-large', large.files, MINUTE_LARGE_BUCKET, MINUTE_MBPS),
  };
  for (const [name, w] of Object.entries(minute)) {
    log(`  ${name}: ${w.expected.length} files, ${(megabytes(w) * w.expected.length).toFixed(0)} MB (${megabytes(w).toFixed(1)} MB each)`);
  }
  log(`  (${formatMs(performance.now() - t)})`);
}

t = performance.now();
const server = await startBenchServer(serverKind, [ds.dir, ...minuteDirs], latencyMs);
log(`Server: ${serverKind} at ${server.endpoint}, ${latencyMs} ms per request (ready in ${formatMs(performance.now() - t)})`);

const tslaRows = expected.length - (ds.haltedDays['TSLA'] ?? []).filter((d) => d >= start && d <= END_DATE).length;
const ctx: Context = { server, bucket: ds.bucket, end: END_DATE, expected, tslaRows, keysFile, tmp, inFlight: IN_FLIGHT, app, profileDir, storeDir: ds.dir, notes: [], ...(minute ? { minute } : {}) };
if (selected.has('cluster') || selected.has('all')) {
  t = performance.now();
  ctx.postgres = await startPostgres();
  log(`PostgreSQL for the cluster scenario: embedded, ready in ${formatMs(performance.now() - t)}`);
}

try {
  const ceiling = await measureCeiling(ctx);
  log(`Server ceiling (no latency, plain http floor client, ${IN_FLIGHT} in flight): ${ceiling.getsPerS.toFixed(0)} GETs/s, ${ceiling.mbPerS.toFixed(0)} MB/s` +
    (ceiling.serverCpuShare === undefined ? '' : `, the server process ${(100 * ceiling.serverCpuShare).toFixed(0)}% of a core busy meanwhile`));

  const chosen = buildRows(ctx, selected).filter((r) => wantsRow(r.name));
  const builds = flags.compare?.split(',').map((d) => path.resolve(d)) ?? [];
  // The other builds' rows, each right after its twin: all see the same moment's noise.
  const twins = builds.map((app) => buildRows({ ...ctx, app }, selected).filter((r) => wantsRow(r.name)));
  const rows = chosen.flatMap((r, i) => [
    r,
    ...twins.flatMap((t, b) => {
      const twin = t[i];
      return twin ? [{ ...twin, name: `${r.name} [${String.fromCharCode(66 + b)}]`, ...(r.floor ? { floor: r.floor } : {}) }] : [];
    }),
  ]);
  if (rows.length === 0) throw new Error(`--rows ${flags.rows ?? ''} matches no row of the selected scenarios`);
  for (const row of rows) await row.setup?.();
  const samples = new Map(rows.map((r) => [r, [] as Sample[]]));
  const rounds = Math.max(0, ...rows.map((r) => r.runs ?? runs));
  // Round by round, so noise from anything else on the machine lands on every row alike.
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      if (round >= (row.runs ?? runs)) continue;
      const before = cpuClock();
      const s = await row.run();
      samples.get(row)?.push({ ...s, extra: { ...s.extra, otherCores: otherCores(before, s) } });
      // Rows of many quick runs (warm fetchSymbol) would drown the log.
      if ((row.runs ?? runs) <= runs) log(`  [${round + 1}/${row.runs ?? runs}] ${row.name}: ${formatMs(s.wallMs)}`);
    }
  }

  // Each row against its own floor: the daily rows against `floor`, the minute rows against the
  // floor client over the same files and link.
  const floorOf = (name: string): number | undefined => {
    const found = [...samples].find(([r]) => r.name === name)?.[1];
    return found && found.length > 0 ? median(found.map((s) => s.wallMs)) : undefined;
  };
  const results: RowResult[] = rows.map((r) => summariseRow(r.name, r.scenario, samples.get(r) ?? [], floorOf(r.floor ?? 'floor')));
  const targets = evaluateTargets(results, IN_FLIGHT);

  const floor = results.find((r) => r.name === 'floor');
  if (floor) {
    const startup = median(floor.samples.map((s) => s.extra?.['startupMs'] ?? 0));
    ctx.notes.push(`floor: one process, one thread, ${IN_FLIGHT} GETs in flight over keep-alive sockets, bodies drained and dropped: "floor" is plain ` +
      `node:http, "floor (fetch)" Node's fetch, "floor (SDK)" @aws-sdk/client-s3. Their wall is the transfer alone (process start + tsx + imports, ` +
      `${formatMs(startup)}, excluded, while every CLI row includes its own start); RSS and CPU are the whole process's, tsx included. "x floor" is relative to the plain one.`);
  }
  if (minute) {
    const mb = (w: Workload): string => `${megabytes(w).toFixed(0)} MB`;
    ctx.notes.push(`minute: TSLA --interval 1m over ${minute.month.expected.length} minute files (${MINUTE_FROM}..${END_DATE}, ~${mb(minute.month)} each, ` +
      `every ticker of the day sorted by ticker, TSLA near the end) and over ${minute.large.expected.length} files of ~${mb(minute.large)} ` +
      `("large": ${MINUTE_LARGE_TICKERS} tickers). The fast server paces all its responses together to ${MINUTE_MBPS} Mbit/s, a fast real link ` +
      `(loopback is many times that, see the no-cap floor, which would measure inflate on 2 cores rather than downloading); the "no cap" pair shows the same month without it. ` +
      `Each minute row's "x floor" is against the floor client over the same files and link.`);
  }
  const cold = results.find((r) => r.name === 'cold');
  let cpuFloor: (CpuFloor & { receiveMs: number; totalMs: number }) | undefined;
  if (cold?.cpuMs !== undefined && floor?.cpuMs !== undefined) {
    const f = measureCpuFloor(ds.dir, ds.bucket, expected.map((e) => e.key));
    const totalMs = floor.cpuMs + f.files * (f.md5Ms + f.inflateMs + f.parseMs);
    cpuFloor = { ...f, receiveMs: floor.cpuMs, totalMs };
    ctx.notes.push(`CPU floor of cold TSLA: ${formatMs(totalMs)} = receiving (the floor client's CPU, ${formatMs(floor.cpuMs)}, its start included) + ` +
      `${f.files} files x (MD5 ${f.md5Ms.toFixed(2)} ms + inflate of ${(100 * f.inflatedShare).toFixed(0)}% ${f.inflateMs.toFixed(2)} ms + scan ${f.parseMs.toFixed(2)} ms), ` +
      `per-file costs measured in the benchmark process on these files; cold used ${formatMs(cold.cpuMs)}, ${(cold.cpuMs / totalMs).toFixed(2)}x that floor.`);
  }
  const others = results.flatMap((r) => r.samples.map((s) => s.extra?.['otherCores'] ?? 0));
  ctx.notes.push(`CPU taken by other processes while samples ran: median ${median(others).toFixed(2)}, at most ${Math.max(...others).toFixed(2)} of ` +
    `${cpus().length} cores (otherCores per sample in results.json${serverKind === 's3rver' ? '; s3rver\'s own CPU counts as other' : ''}).`);
  if (serverKind === 'fast') {
    ctx.notes.push('"GETs in flight": object GETs the server was handling on average, from the first arrival to the last response; ' +
      `a client that keeps its ${IN_FLIGHT} slots busy with its own work between responses shows fewer.`);
  }
  ctx.notes.push(`every CLI row is the whole process (node bin/preload-market-data.js ... --json, from a copy of bin/ and dist/ taken at the start), ` +
    `spawn to exit; peak RSS and CPU by ${rusageMethod}.`);

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
  };
  const settings = { server: serverKind, latencyMs, runs, inFlight: IN_FLIGHT, endDate: END_DATE, files: expected.length, bytes: expectedBytes };

  process.stdout.write(`\npreload-market-data benchmark, ${new Date().toISOString()}\n`);
  process.stdout.write(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}; ${serverKind} server, ${latencyMs} ms latency, ${IN_FLIGHT} in flight\n`);
  process.stdout.write(`code ${code.commit}${code.dirtySrc ? ' + uncommitted changes in src/' : ''}; TSLA 5y = ${expected.length} day files, ${(expectedBytes / 1e6).toFixed(0)} MB\n`);
  process.stdout.write(`server ceiling: >= ${ceiling.getsPerS.toFixed(0)} GETs/s measured with no latency` +
    (ceiling.serverCpuShare === undefined ? '' : ` (the server ${(100 * ceiling.serverCpuShare).toFixed(0)}% busy: ~${(ceiling.getsPerS / ceiling.serverCpuShare).toFixed(0)} GETs/s on a core of its own)`) +
    (latencyMs > 0 ? `; the latency allows ${((IN_FLIGHT * 1000) / latencyMs).toFixed(0)} GETs/s at ${IN_FLIGHT} in flight` : '') + '\n\n');
  process.stdout.write(`${formatResults(results)}\n\n${formatTargets(targets)}\n`);
  for (const note of ctx.notes) process.stdout.write(`\nnote: ${note}`);
  process.stdout.write('\n');
  if (ctx.profile) process.stdout.write(`\nProfile of one cold run (${path.relative(ROOT, profileDir)}/):\n${formatProfile(ctx.profile)}\n`);

  const out = path.resolve(ROOT, flags.out ?? path.join('bench', 'results', 'default.json'));
  const json = { date: new Date().toISOString(), machine, code, settings, ceiling, rusage: rusageMethod, results, targets, cpuFloor, notes: ctx.notes, profile: ctx.profile };
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nWrote ${path.relative(ROOT, out)}`);
} finally {
  await (await ctx.rest)?.close();
  await ctx.postgres?.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}

/** A workload's mean file size, in MB. */
function megabytes(w: Workload): number {
  return w.expected.reduce((sum, f) => sum + f.size, 0) / w.expected.length / 1e6;
}

/**
 * Copies the built package (bin/, dist/, package.json; node_modules linked) so that every run
 * measures the same build, even if dist/ is rebuilt while the benchmark runs.
 */
function snapshotBuild(into: string): string {
  const dir = path.join(into, 'app');
  for (const sub of ['bin', 'dist']) cpSync(path.join(ROOT, sub), path.join(dir, sub), { recursive: true });
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

interface CpuClock {
  at: number;
  /** Busy CPU time of the whole machine and of this process, in ms. */
  machineMs: number;
  ownMs: number;
}

function cpuClock(): CpuClock {
  const machineMs = cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
  const own = process.cpuUsage();
  return { at: performance.now(), machineMs, ownMs: (own.user + own.system) / 1000 };
}

/**
 * Cores busy with anything but this sample (its child, the fast server, its PostgreSQL, this process) while it
 * ran: the noise in its numbers. On a 2-core machine, a few tenths already slow a CPU-bound run.
 */
function otherCores(before: CpuClock, s: Sample): number {
  const now = cpuClock();
  const mine = now.ownMs - before.ownMs + (s.cpuMs ?? 0) + (s.extra?.['serverCpuMs'] ?? 0) + (s.extra?.['untimedCpuMs'] ?? 0) + (s.extra?.['pgCpuMs'] ?? 0);
  return Math.max(0, now.machineMs - before.machineMs - mine) / (now.at - before.at);
}

/** The commit measured, and whether src/ differs from it (the numbers then belong to the working tree). */
function codeVersion(): { commit: string; dirtySrc: boolean } {
  const git = (...args: string[]): string => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  return { commit: git('rev-parse', '--short', 'HEAD') || 'unknown', dirtySrc: git('status', '--porcelain', '--', 'src') !== '' };
}

/**
 * What the server allows with no injected latency, measured with the floor client: if a scenario
 * came near this, it would be measuring the server. The fast server also reports its own CPU time.
 */
async function measureCeiling(c: Context): Promise<{ getsPerS: number; mbPerS: number; serverCpuShare: number | undefined }> {
  await c.server.setLatency(0);
  try {
    const f = await runFloor(c, 'http');
    const seconds = f.transferMs / 1000;
    return {
      getsPerS: f.files / seconds,
      mbPerS: f.bytes / 1e6 / seconds,
      serverCpuShare: f.server.cpuMs === undefined ? undefined : f.server.cpuMs / f.transferMs,
    };
  } finally {
    await c.server.setLatency(latencyMs);
  }
}
