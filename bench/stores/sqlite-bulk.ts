/**
 * `npm run bench -- sqlite-bulk`: how fast the SQLite cache takes whole-market files (`--all`), and
 * what its layout costs reads. Every case runs in a child process of its own, case after case
 * round by round, so each row's median comes from runs interleaved with the others'. Rows/s are
 * over the store's calls alone (generating the rows is not counted); CPU rows/s also, which the
 * other sessions on this shared machine disturb less than the wall.
 *   --rows-per-file N   tickers in a day file (default 11000)
 *   --files N           day files of the full-size rows (default 1255: 5 years)
 *   --matrix-files N    day files of the method, pragma and transaction rows (default 250)
 *   --layout-files N    day files of the layout rows (default 100: today's layout takes minutes more)
 *   --runs N            runs of each case (default 3); --full-runs N for the full-size ones (default 1)
 *   --groups a,b        any of layout, method, pragma, txn, shipped, sink, minute (default all)
 *   --sink-tickers N    tickers of the large minute file staged by the sink rows (default 3000: ~1.9M rows)
 *   --minute-tickers N  tickers of the minute month read (default 500)
 *   --out FILE          default bench/results/sqlite-bulk.json
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { runCase, type Case, type CaseResult } from './sqlite-bulk-cases.js';
import { positiveInt } from '../lib/flags.js';

const { values: flags } = parseArgs({
  options: {
    'rows-per-file': { type: 'string' },
    files: { type: 'string' },
    'matrix-files': { type: 'string' },
    'layout-files': { type: 'string' },
    runs: { type: 'string' },
    'full-runs': { type: 'string' },
    groups: { type: 'string' },
    'sink-tickers': { type: 'string' },
    'minute-tickers': { type: 'string' },
    out: { type: 'string' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});

if (flags.child !== undefined) {
  const result = await runCase(flags.dir ?? '.', JSON.parse(flags.child) as Case);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const int = (name: keyof typeof flags, fallback: number): number => positiveInt(flags, name, fallback);

const T = int('rows-per-file', 11_000);
const FILES = int('files', 1255);
const MATRIX = int('matrix-files', 250);
const LAYOUT = int('layout-files', 100);
const RUNS = int('runs', 3);
const FULL_RUNS = int('full-runs', 1);
const GROUPS = new Set((flags.groups ?? 'layout,method,pragma,txn,shipped,sink,minute').split(','));
const OUT = flags.out ?? fileURLToPath(new URL('../results/sqlite-bulk.json', import.meta.url));

interface Row {
  group: string;
  label: string;
  spec: Case;
  full: boolean;
}

const dm = (label: string, over: Partial<Extract<Case, { kind: 'ingest' }>>, group: string, files = MATRIX): Row => ({
  group,
  label,
  full: false,
  spec: { kind: 'ingest', layout: 'day-major', method: 'values', files, tickers: T, txFiles: 1, pragmas: {}, ...over },
});

const rows: Row[] = [
  ...(['current', 'day-index', 'day-major'] as const).map((layout) => dm(layout, { layout }, 'layout', LAYOUT)),
  dm('a statement per row', { method: 'row' }, 'method'),
  dm('multi-row VALUES (512 rows), bar_symbols by a Set', {}, 'method'),
  dm('json_each of one string', { method: 'json' }, 'method'),
  dm('multi-row VALUES, bar_symbols by SQL', { listing: 'sql' }, 'method'),
  dm('defaults (cache 16 MB, 4 KiB pages)', {}, 'pragma'),
  dm('cache_size 64 MB', { pragmas: { cache_size: -65_536 } }, 'pragma'),
  dm('mmap_size 1 GiB', { pragmas: { mmap_size: 2 ** 30 } }, 'pragma'),
  dm('page_size 8 KiB', { pragmas: { page_size: 8192 } }, 'pragma'),
  dm('page_size 16 KiB', { pragmas: { page_size: 16_384 } }, 'pragma'),
  dm('wal_autocheckpoint 10000', { pragmas: { wal_autocheckpoint: 10_000 } }, 'pragma'),
  ...[1, 4, 16].map((txFiles) => dm(`${txFiles} file${txFiles > 1 ? 's' : ''} a transaction`, { txFiles }, 'txn')),
  ...[1, 16].map((batch): Row => ({
    group: 'shipped',
    label: `LocalQueue.complete, ${batch} file${batch > 1 ? 's' : ''} a batch`,
    full: true,
    spec: { kind: 'shipped', files: FILES, tickers: T, batch },
  })),
  ...(['temp', 'temp-memory', 'main'] as const).map((staging): Row => ({
    group: 'sink',
    label: { temp: 'TEMP table, temp_store FILE (shipped)', 'temp-memory': 'TEMP table, temp_store MEMORY', main: 'staging table in the cache file' }[staging],
    full: false,
    spec: { kind: 'sink', staging, tickers: int('sink-tickers', 3000), chunk: 65_536 },
  })),
  { group: 'minute', label: 'a month of minute files', full: false, spec: { kind: 'read-minute', files: 21, tickers: int('minute-tickers', 500) } } satisfies Row,
].filter((r) => GROUPS.has(r.group));

/** Busy CPU ms of the whole machine so far (/proc/stat), to tell what other processes took. */
function busyMs(): number {
  const [, ...f] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const n = f.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return ((n.reduce((a, b) => a + b, 0) - idle) * 1000) / 100;
}

interface Run extends CaseResult {
  wallMs: number;
  /** Cores that other processes kept busy while the case ran (the machine's busy time less the child's CPU). */
  otherCores: number;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'pmd-sqlite-bulk-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const results = new Map<Row, Run[]>(rows.map((r) => [r, []]));
const maxRuns = Math.max(RUNS, FULL_RUNS);
for (let run = 0; run < maxRuns; run++) {
  for (const row of rows) {
    if (run >= (row.full ? FULL_RUNS : RUNS)) continue;
    const dir = path.join(scratch, `case-${run}`);
    const busy = busyMs();
    const t = performance.now();
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(row.spec), '--dir', dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const wallMs = performance.now() - t;
    rmSync(dir, { recursive: true, force: true });
    if (child.status !== 0) throw new Error(`${row.group} / ${row.label} failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as CaseResult;
    const otherCores = Math.max(0, (busyMs() - busy - r.cpuMs) / wallMs);
    results.get(row)?.push({ ...r, wallMs, otherCores });
    process.stderr.write(`run ${run + 1}: ${row.group} / ${row.label}: ${fmtRate((r.rows / r.storeMs) * 1000)} rows/s\n`);
  }
}

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n / 1e3)}k`;
}

const summary = rows.map((row) => {
  const runs = results.get(row) ?? [];
  const m = (f: (r: Run) => number) => med(runs.map(f));
  const extraKeys = Object.keys(runs[0]?.extra ?? {});
  const extra = Object.fromEntries(extraKeys.map((k) => [k, typeof runs[0]?.extra[k] === 'number' ? m((r) => r.extra[k] as number) : runs[0]?.extra[k]]));
  return {
    group: row.group,
    label: row.label,
    spec: row.spec,
    runs: runs.length,
    rows: runs[0]?.rows ?? 0,
    rowsPerS: m((r) => (r.rows / r.storeMs) * 1000),
    rowsPerSRange: [Math.min(...runs.map((r) => (r.rows / r.storeMs) * 1000)), Math.max(...runs.map((r) => (r.rows / r.storeMs) * 1000))],
    cpuRowsPerS: m((r) => (r.rows / r.storeCpuMs) * 1000),
    storeS: m((r) => r.storeMs) / 1000,
    mb: m((r) => r.bytes) / 1e6,
    rssMb: m((r) => r.rssMb),
    otherCores: m((r) => r.otherCores),
    extra,
    all: runs,
  };
});

const lines: string[] = [];
for (const group of new Set(summary.map((s) => s.group))) {
  lines.push(`\n${group}`, '| case | rows | rows/s (min–max) | CPU rows/s | store s | file MB | peak RSS MB | others (cores) | more |', '|---|---|---|---|---|---|---|---|---|');
  for (const s of summary.filter((x) => x.group === group)) {
    const more = Object.entries(s.extra)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 1000 ? fmtRate(v) : v.toFixed(2)) : v}`)
      .join(', ');
    lines.push(
      `| ${s.label} | ${s.rows.toLocaleString('en-US')} | ${fmtRate(s.rowsPerS)} (${s.rowsPerSRange.map(fmtRate).join('–')}) | ${fmtRate(s.cpuRowsPerS)} | ${s.storeS.toFixed(2)} | ${s.mb.toFixed(0)} | ${s.rssMb.toFixed(0)} | ${s.otherCores.toFixed(2)} | ${more} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);

const probe = new Database(':memory:');
const sqlite = (probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
probe.close();
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // not a checkout
}
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      commit,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, sqlite },
      flags: { rowsPerFile: T, files: FILES, matrixFiles: MATRIX, layoutFiles: LAYOUT, runs: RUNS, fullRuns: FULL_RUNS },
      results: summary,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`results in ${OUT}\n`);
