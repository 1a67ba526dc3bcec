/**
 * `npm run bench -- serve [--duration S] [--tickers N] [--rounds N] [--store sqlite|postgres]`: serve's HTTP shell under load, side by
 * side in one run, with autocannon as the load generator (in this process; each server in a
 * process of its own, started fresh for each row so that its peak RSS is the row's):
 *   - floor: a bare node:http server answering precomputed bodies (the same answers' bytes);
 *   - cached: our server answering the same URLs from its memory cache;
 *   - uncached: the `serve` command with no cache, each request a random ticker's 5 years of day
 *     bars from a whole-market SQLite store (filled by the real `--all` run, as the `all` scenario
 *     does, which drops the index by ticker: serve builds it before it listens, untimed), with one
 *     process and with one per core (--processes), interleaved;
 *   - overload: the uncached server (one process per core) offered 4x the load: 503s instead of
 *     waiting past the time limit, and /healthz probed meanwhile.
 * With `--store postgres`, the uncached and overload rows only, on one embedded PostgreSQL (started
 * here, filled by the real `--all` run each time, ~80 s) on the same 2 cores: results in
 * bench/results/serve-postgres.json.
 * Results: bench/results/serve.json. Targets (issue 29): cached >= 0.7x the floor's req/s with p99
 * <= 2x the floor's; uncached >= 300 answers/s with p99 < 100 ms at 32 connections and peak RSS
 * < 400 MB; overload: no answer later than the time limit, /healthz under 50 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { generateDataset } from '../../test/fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../../test/fixtures/postgres.js';
import { cliEnv, measure } from '../lib/measure.js';
import { startBenchServer, TSX_LOADER } from '../lib/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = path.join(ROOT, '.bench-data');
const RESULT_FILES = { sqlite: path.join(ROOT, 'bench', 'results', 'serve.json'), postgres: path.join(ROOT, 'bench', 'results', 'serve-postgres.json') };
const CHILD = fileURLToPath(new URL('./serve-child.ts', import.meta.url));
// As bench/run.ts: the same generated market, the same fixed end.
const END_DATE = '2026-11-20';
const START_5Y = '2021-11-21';
const CONNECTIONS = 32;
/**
 * Overload: 4x the uncached row's connections, each sending its next request as soon as it has an
 * answer: 128 outstanding against 1 + 64 slot and queue (the defaults on SQLite). An
 * `overallRate` of 4x the sustained rate was tried first: autocannon, sharing 2 loaded cores with
 * the server, then offered little more than the server answered, and nothing was shed.
 */
const OVERLOAD_CONNECTIONS = CONNECTIONS * 4;
/** Answers cached and replayed in the cached rows (and precomputed for the floor). */
const CACHED_URLS = 200;

const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Row {
  name: string;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  status: Record<string, number>;
  /** The load generator's CPU while it ran, in cores (of the machine's 2). */
  loadGenCores: number;
  peakRssMb?: number;
  extra?: Record<string, number>;
}

export async function runServeBench(argv: string[]): Promise<void> {
  const { values: flags } = parseArgs({ args: argv, options: { duration: { type: 'string' }, tickers: { type: 'string' }, rounds: { type: 'string' }, store: { type: 'string' } } });
  const kind = flags.store ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`Expected --store to be sqlite or postgres, got ${kind}`);
  const RESULT_FILE = RESULT_FILES[kind];
  const rounds = Number(flags.rounds ?? 3);
  const duration = Number(flags.duration ?? 10);
  const sample = Number(flags.tickers ?? 2000);

  log('Dataset: 11,000 filler tickers, 5y of stock day files (generated once into .bench-data/store)');
  const ds = await generateDataset({ dir: path.join(DATA, 'store'), fillerTickers: 11_000, endDate: END_DATE });
  const cacheDir = path.join(DATA, 'serve-market');
  let pg: TestPostgres | undefined;
  let storeArgs = ['--cache-dir', cacheDir];
  if (kind === 'postgres') {
    pg = await startPostgres();
    const url = await pg.freshDatabase();
    await fillMarket(ds.dir, ['--store', url], undefined);
    storeArgs = ['--store', url];
  } else {
    await fillMarket(ds.dir, storeArgs, path.join(cacheDir, 'serve-filled.json'));
  }
  try {
    await runRows(kind, storeArgs, cacheDir, pick(await storedTickers(storeArgs), sample), { rounds, duration, RESULT_FILE });
  } finally {
    await pg?.close();
  }
}

async function runRows(kind: 'sqlite' | 'postgres', storeArgs: string[], cacheDir: string, tickers: string[], settings: { rounds: number; duration: number; RESULT_FILE: string }): Promise<void> {
  const { rounds, duration, RESULT_FILE } = settings;
  const uncachedRounds = rounds;
  const urlOf = (t: string): string => `/v2/aggs/ticker/${encodeURIComponent(t)}/range/1/day/${START_5Y}/${END_DATE}?adjusted=false`;
  const rows: Row[] = [];
  const notes: string[] = [];

  // Cached (SQLite only: a cached answer reads no store): the first CACHED_URLS tickers' answers,
  // fetched once through our server; the floor serves those bytes.
  const cachedPaths = tickers.slice(0, CACHED_URLS).map(urlOf);
  const bodies: Record<string, string> = {};
  let ours: Child;
  if (kind === 'sqlite') {
    ours = await startChild(['serve', ROOT, cacheDir, '{}']);
    for (const p of cachedPaths) bodies[p] = await get(ours.url, p);
    const bodiesFile = path.join(DATA, 'serve-bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const floor = await startChild(['floor', bodiesFile]);
    try {
      // Interleaved rounds: the machine's load drifts, each pair sees the same.
      for (let round = 1; round <= rounds; round++) {
        log(`cached vs floor, round ${round}`);
        rows.push(toRow(`floor: node:http, precomputed bodies (round ${round})`, await load(floor.url, cachedPaths, duration)));
        rows.push(toRow(`cached: serve, memory cache (round ${round})`, await load(ours.url, cachedPaths, duration)));
      }
    } finally {
      await stopChild(floor);
      await stopChild(ours);
    }
  } else {
    ours = await startServe(storeArgs, 1);
    try {
      for (const p of cachedPaths.slice(0, 20)) bodies[p] = await get(ours.url, p);
    } finally {
      await stopChild(ours);
    }
  }
  const answerBytes = Object.values(bodies).reduce((n, b) => n + b.length, 0) / Object.keys(bodies).length;

  // Uncached: the real `serve` command with no cache, random tickers; one process against one per
  // core (--processes), interleaved rounds; each server fresh, so its peak RSS is the row's.
  const allPaths = tickers.map(urlOf);
  const cores = cpus().length;
  const uncachedRows: Row[] = [];
  for (let round = 1; round <= uncachedRounds; round++) {
    for (const processes of [1, cores]) {
      log(`uncached, ${processes} process(es), round ${round}`);
      ours = await startServe(storeArgs, processes);
      try {
        const row = { ...toRow(`uncached: serve --processes ${processes}, random tickers' 5y daily, ${CONNECTIONS} connections (round ${round})`, await load(ours.url, allPaths, duration)), peakRssMb: peakRssMb(ours.child) };
        rows.push(row);
        if (processes === cores) uncachedRows.push(row);
      } finally {
        await stopChild(ours);
      }
    }
  }
  // The target rows: one process per core (serve's default); the median round.
  const byRate = [...uncachedRows].sort((x, y) => x.reqPerS - y.reqPerS);
  const uncached = byRate[Math.floor(byRate.length / 2)] as Row;

  // Overload: 4x the uncached row's load; /healthz probed meanwhile from a process of its own.
  log(`overload: ${OVERLOAD_CONNECTIONS} connections`);
  ours = await startServe(storeArgs, cores);
  try {
    const probe = probeHealth(ours.url, duration);
    const result = await load(ours.url, allPaths, duration, { connections: OVERLOAD_CONNECTIONS });
    const health = await probe;
    rows.push({
      ...toRow(`overload: serve --processes ${cores}, ${OVERLOAD_CONNECTIONS} connections (4x the uncached row's)`, result),
      peakRssMb: peakRssMb(ours.child),
      extra: { healthzP99Ms: health.p99, healthzMaxMs: health.max, healthzProbes: health.count },
    });
  } finally {
    await stopChild(ours);
  }
  notes.push(`answers: ${Math.round(answerBytes / 1024)} KB on average (${Math.round(answerBytes / 1024 / 1255 * 1024)} bytes a bar over ~1,255 bars)`);
  notes.push('the load generator runs in the bench process, each server in its own: they share the 2 cores (loadGenCores: what autocannon itself used)');
  notes.push('/healthz is probed every 50 ms from a process of its own, on a fresh connection each time');

  const median = (prefix: string, f: (r: Row) => number): number => {
    const xs = rows.filter((r) => r.name.startsWith(prefix)).map(f).sort((x, y) => x - y);
    const mid = xs.length / 2;
    return xs.length % 2 === 1 ? (xs[Math.floor(mid)] ?? NaN) : ((xs[mid - 1] ?? NaN) + (xs[mid] ?? NaN)) / 2;
  };
  const floorRps = median('floor', (r) => r.reqPerS);
  const cachedRps = median('cached', (r) => r.reqPerS);
  const floorP99 = median('floor', (r) => r.p99Ms);
  const cachedP99 = median('cached', (r) => r.p99Ms);
  const over = rows.at(-1);
  const timeLimitMs = 10_000;
  const targets = [
    ...(kind === 'sqlite'
      ? [
          { target: 'cached req/s >= 0.7x floor', value: cachedRps / floorRps, pass: cachedRps / floorRps >= 0.7 },
          { target: 'cached p99 <= 2x floor', value: cachedP99 / floorP99, pass: cachedP99 <= 2 * floorP99 },
        ]
      : []),
    { target: 'uncached >= 300 answers/s', value: uncached.reqPerS, pass: uncached.reqPerS >= 300 },
    { target: 'uncached p99 < 100 ms', value: uncached.p99Ms, pass: uncached.p99Ms < 100 },
    { target: 'uncached peak RSS < 400 MB', value: uncached.peakRssMb ?? NaN, pass: (uncached.peakRssMb ?? Infinity) < 400 },
    { target: `overload: slowest answer < time limit (${timeLimitMs} ms)`, value: over?.maxMs ?? NaN, pass: (over?.maxMs ?? Infinity) < timeLimitMs },
    { target: 'overload: /healthz p99 < 50 ms', value: over?.extra?.['healthzP99Ms'] ?? NaN, pass: (over?.extra?.['healthzP99Ms'] ?? Infinity) < 50 },
  ];
  for (const r of rows) log(`${r.name}: ${r.reqPerS.toFixed(0)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, non-2xx ${r.non2xx}, load generator ${r.loadGenCores} cores${r.peakRssMb === undefined ? '' : `, peak RSS ${r.peakRssMb} MB`}`);
  for (const t of targets) log(`${t.pass ? 'PASS' : 'MISS'} ${t.target}: ${Number.isFinite(t.value) ? t.value.toFixed(2) : t.value}`);
  mkdirSync(path.dirname(RESULT_FILE), { recursive: true });
  writeFileSync(
    RESULT_FILE,
    `${JSON.stringify({ date: new Date().toISOString(), store: kind, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30) }, settings: { duration, rounds, connections: CONNECTIONS, tickers: tickers.length, cachedUrls: CACHED_URLS }, rows, targets, notes }, null, 2)}\n`,
  );
  log(`Results: ${path.relative(ROOT, RESULT_FILE)}`);
}

/**
 * The whole market's 5y of day files into the store (`--cache-dir DIR` or `--store URL`) by the
 * real `--all` run; once where a marker file is given (it says it is done).
 */
async function fillMarket(storeDir: string, storeArgs: string[], marker: string | undefined): Promise<void> {
  if (marker !== undefined && existsSync(marker)) return;
  log(`Store: --all 5y daily into ${storeArgs[0] === '--store' ? 'PostgreSQL (each run; ~80 s)' : 'SQLite (once; about a minute)'}`);
  const server = await startBenchServer('fast', [storeDir], 0);
  try {
    const m = await measure(process.execPath, [path.join(ROOT, 'bin', 'preload-market-data.js'), '--all', '--period', '5y', '--end', END_DATE, '--endpoint', server.endpoint, ...storeArgs, '--json'], cliEnv());
    if (m.code !== 0) throw new Error(`--all exited ${m.code}:\n${m.stderr}`);
    if (marker !== undefined) writeFileSync(marker, m.stdout);
  } finally {
    await server.stop();
  }
}

async function storedTickers(storeArgs: string[]): Promise<string[]> {
  const { openStore } = await import('../../src/store/open.js');
  const store = await openStore(storeArgs[0] === '--store' ? { store: storeArgs[1], cacheDir: '' } : { store: undefined, cacheDir: storeArgs[1] ?? '' });
  try {
    // Plain stock tickers (the placeholder answer takes those).
    return (await store.listSymbols('1d')).filter((t) => /^[A-Z][A-Z0-9.]*$/.test(t));
  } finally {
    await store.close();
  }
}

/** `n` of `xs`, spread evenly (deterministic). */
function pick(xs: readonly string[], n: number): string[] {
  if (xs.length <= n) return [...xs];
  const step = xs.length / n;
  return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)] ?? '');
}

/** The load generator's (this process's) CPU during each load, in cores: what it takes from the server's 2. */
const loadGenCores = new WeakMap<Result, number>();

async function load(url: string, paths: readonly string[], duration: number, more: { overallRate?: number; connections?: number } = {}): Promise<Result> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await run(url, paths, duration, more);
  const used = process.cpuUsage(cpu);
  loadGenCores.set(result, Math.round(((used.user + used.system) / 1000 / (performance.now() - started)) * 100) / 100);
  return result;
}

function run(url: string, paths: readonly string[], duration: number, more: { overallRate?: number; connections?: number }): Promise<Result> {
  let i = 0;
  return autocannon({
    url,
    connections: more.connections ?? CONNECTIONS,
    duration,
    timeout: 30,
    ...(more.overallRate === undefined ? {} : { overallRate: more.overallRate }),
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          // A random one each time: a ticker's answer is read again only by chance.
          i = (i + 1 + Math.floor(Math.random() * paths.length)) % paths.length;
          return { ...req, path: paths[i] ?? '/' };
        },
      },
    ],
  });
}

function toRow(name: string, r: Result): Row {
  const status: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) status[code] = Number(s.count);
  return { name, reqPerS: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max, non2xx: r.non2xx, errors: r.errors, status, loadGenCores: loadGenCores.get(r) ?? NaN };
}

interface Child {
  child: ChildProcess;
  url: string;
}

async function startChild(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const until = Date.now() + 300_000; // the first start builds the index by ticker (~20 s), untimed
  while (!out.includes('\n')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`server child ${args[0]} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, url: (out.split('\n')[0] ?? '').trim() };
}

/** The real `serve` command (the built CLI) on the store of `storeArgs`, no cache, `processes` processes; its URL from its --json line. */
async function startServe(storeArgs: string[], processes: number): Promise<Child> {
  const args = [path.join(ROOT, 'bin', 'preload-market-data.js'), 'serve', '--port', '0', '--json', ...storeArgs, '--cache-mb', '0', '--processes', String(processes)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: cliEnv() });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const until = Date.now() + 300_000;
  while (!out.includes('\n')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`serve --processes ${processes} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, url: (JSON.parse(out.split('\n')[0] ?? '{}') as { url: string }).url };
}

async function stopChild(c: Child): Promise<void> {
  const exited = new Promise((r) => c.child.once('exit', r));
  c.child.kill('SIGTERM');
  await exited;
}

/** The child's peak RSS (VmHWM) with its own children's (serve's processes), in MB. */
function peakRssMb(child: ChildProcess): number | undefined {
  const kb = (pid: number): number => {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return Number(m?.[1] ?? 0) + children.reduce((n, c) => n + kb(c), 0);
  };
  try {
    return child.pid === undefined ? undefined : Math.round(kb(child.pid) / 1024);
  } catch {
    return undefined;
  }
}

function get(base: string, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(`${base}${p}`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${p}: ${res.statusCode} ${body}`))));
    })
      .on('error', reject)
      .end();
  });
}

/** /healthz probed every 50 ms for `seconds`, from a process of its own: its latencies. */
async function probeHealth(base: string, seconds: number): Promise<{ p99: number; max: number; count: number }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD, 'probe', `${base}/healthz`, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out.trim()) as { p99: number; max: number; count: number };
}
