/** Turns the samples into the results table and checks them against the targets the project set itself. */
import { ALL_ROWS } from './all.js';
import { CHECK_ROWS } from './check.js';
import { median } from '../lib/measure.js';
import type { Sample, Scenario } from '../lib/types.js';

export interface RowResult {
  name: string;
  scenario: Scenario;
  samples: Sample[];
  wallMs: { median: number; min: number; max: number };
  filesPerS: number | undefined;
  /** Megabytes (10^6 bytes) per second. */
  mbPerS: number | undefined;
  /** Median peak RSS in MB (10^6 bytes). */
  rssMb: number | undefined;
  /** Median user + system CPU time. */
  cpuMs: number | undefined;
  ratioToFloor: number | undefined;
  /** Median of the GETs the server saw in flight on average (fast server only). */
  avgInFlight: number | undefined;
}

export interface TargetResult {
  target: string;
  measured: string;
  /** undefined when a scenario it needs did not run. */
  pass: boolean | undefined;
}

const defined = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);
const medianOf = (xs: Array<number | undefined>): number | undefined => (defined(xs).length > 0 ? median(defined(xs)) : undefined);

export function summariseRow(name: string, scenario: Scenario, samples: Sample[], floorMs: number | undefined): RowResult {
  const walls = samples.map((s) => s.wallMs);
  const wall = median(walls);
  const files = median(samples.map((s) => s.files));
  const bytes = median(samples.map((s) => s.bytes));
  const rssKb = medianOf(samples.map((s) => s.rssKb));
  return {
    name,
    scenario,
    samples,
    wallMs: { median: wall, min: Math.min(...walls), max: Math.max(...walls) },
    filesPerS: files > 0 ? files / (wall / 1000) : undefined,
    mbPerS: bytes > 0 ? bytes / 1e6 / (wall / 1000) : undefined,
    rssMb: rssKb === undefined ? undefined : (rssKb * 1024) / 1e6,
    cpuMs: medianOf(samples.map((s) => s.cpuMs)),
    ratioToFloor: floorMs === undefined || files === 0 ? undefined : wall / floorMs,
    avgInFlight: medianOf(samples.map((s) => s.extra?.['avgInFlight'])),
  };
}

export const formatMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`);
const opt = (x: number | undefined, f: (x: number) => string): string => (x === undefined ? '-' : f(x));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatResults(results: RowResult[]): string {
  return table(
    ['scenario', 'runs', 'median wall', 'min–max', 'files/s', 'MB/s', 'peak RSS', 'CPU time', 'x floor', 'GETs in flight'],
    results.map((r) => [
      r.name,
      String(r.samples.length),
      formatMs(r.wallMs.median),
      `${formatMs(r.wallMs.min)} – ${formatMs(r.wallMs.max)}`,
      opt(r.filesPerS, (x) => x.toFixed(0)),
      opt(r.mbPerS, (x) => x.toFixed(1)),
      opt(r.rssMb, (x) => `${x.toFixed(0)} MB`),
      opt(r.cpuMs, formatMs),
      opt(r.ratioToFloor, (x) => `${x.toFixed(2)}x`),
      opt(r.avgInFlight, (x) => x.toFixed(1)),
    ]),
  );
}

export function formatTargets(targets: TargetResult[]): string {
  return table(
    ['target', 'measured', 'result'],
    targets.map((t) => [t.target, t.measured, t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS']),
  );
}

/** The targets (2 cores, 20 ms latency, 20 downloads in flight). */
export function evaluateTargets(results: RowResult[], inFlight: number): TargetResult[] {
  const row = (name: string): RowResult | undefined => results.find((r) => r.name === name);
  const wall = (name: string): number | undefined => row(name)?.wallMs.median;
  const ratio = (target: string, a: string, b: string, max: number, invert = false): TargetResult => {
    const x = wall(a);
    const y = wall(b);
    if (x === undefined || y === undefined) return { target, measured: 'not run', pass: undefined };
    const r = invert ? y / x : x / y;
    return { target, measured: `${r.toFixed(2)}x (${formatMs(x)} vs ${formatMs(y)})`, pass: invert ? r >= max : r <= max };
  };
  const below = (target: string, x: number | undefined, limit: number, show: (x: number) => string): TargetResult =>
    x === undefined ? { target, measured: 'not run', pass: undefined } : { target, measured: show(x), pass: x < limit };

  // A peak is a worst case: the highest of the runs, not their median. In MB; undefined if not run.
  const peakMb = (...names: string[]): number | undefined => {
    const kb = Math.max(...defined(names.flatMap((n) => row(n)?.samples.map((s) => s.rssKb) ?? [])));
    return Number.isFinite(kb) ? (kb * 1024) / 1e6 : undefined;
  };
  const resume = row('resume (rerun)');
  const resumeRuns = resume?.samples.map((s) => ({ gets: s.gets ?? 0, remaining: s.extra?.['remaining'] ?? 0 }));
  return [
    ratio('cold <= 1.6x floor', 'cold', 'floor', 1.6),
    below('cold CPU < 4.5 s (median)', row('cold')?.cpuMs, 4500, formatMs),
    ratio('cold >= 14x faster than --workers 1', 'cold', 'sequential', 14, true),
    below('cold peak RSS < 300 MB (highest run)', peakMb('cold'), 300, (x) => `${x.toFixed(0)} MB`),
    ratio('multi (3 symbols) <= 1.15x single', 'multi: TSLA AAPL MSFT', 'multi: TSLA', 1.15),
    below('warm fetchSymbol < 20 ms (median)', wall('warm fetchSymbol'), 20, formatMs),
    below('warm split-adjusted fetchSymbol < 20 ms (median)', wall('warm fetchSymbol, split-adjusted'), 20, formatMs),
    ratio('warm split-adjusted <= 1.2x raw', 'warm fetchSymbol, split-adjusted', 'warm fetchSymbol', 1.2),
    below('CLI rerun of a completed job < 1 s', wall('warm CLI rerun'), 1000, formatMs),
    resumeRuns === undefined
      ? { target: 'resume GETs = remaining (+ <= in flight)', measured: 'not run', pass: undefined }
      : {
          target: 'resume GETs = remaining (+ <= in flight)',
          measured: resumeRuns.map((r) => `${r.gets}/${r.remaining}`).join(', ') + ' (GETs/remaining per run)',
          pass: resumeRuns.every((r) => r.gets >= r.remaining && r.gets <= r.remaining + inFlight),
        },
    ratio('cold no slower than rclone', 'cold', 'reference rclone', 1),
    ratio('cold no slower than rclone + zcat | grep', 'cold', 'reference rclone + zcat | grep', 1),
    ratio('minute cold <= 1.25x minute floor (1 Gbit/s link)', 'minute cold', 'minute floor', 1.25),
    ratio('minute large cold <= 1.25x its floor (1 Gbit/s link)', 'minute large cold', 'minute large floor', 1.25),
    ratio('minute cold, no cap <= 1.25x its floor (loopback)', 'minute cold, no cap', 'minute floor, no cap', 1.25),
    below('minute peak RSS < 300 MB (highest run, both file sizes)', peakMb('minute cold', 'minute cold, no cap', 'minute large cold'), 300, (x) => `${x.toFixed(0)} MB`),
    ratio('--all 5y daily into SQLite no slower than DuckDB read_csv', ALL_ROWS.sqlite, ALL_ROWS.duckdb, 1),
    ratio('--all into PostgreSQL <= 1.5x SQLite', ALL_ROWS.postgres, ALL_ROWS.sqlite, 1.5),
    ratio('--all, 3 processes on PostgreSQL faster than 1', ALL_ROWS.three, ALL_ROWS.one, 1),
    below('--all minute month peak RSS < 600 MB (highest run)', peakMb(ALL_ROWS.minute), 600, (x) => `${x.toFixed(0)} MB`),
    below('warm fetchSymbol in a whole-market cache < 20 ms (median)', wall(ALL_ROWS.warm), 20, formatMs),
    below('sync a week later < 2 s (median)', wall(ALL_ROWS.sync), 2000, formatMs),
    ratio('check --all < 0.5x the --all run that filled the store', CHECK_ROWS.check, CHECK_ROWS.fill, 0.5),
    below('check --all peak RSS < 500 MB (highest run)', peakMb(CHECK_ROWS.check), 500, (x) => `${x.toFixed(0)} MB`),
    ((): TargetResult => {
      const gets = row(ALL_ROWS.sync)?.samples.map((s) => s.gets ?? 0);
      return gets === undefined
        ? { target: 'sync a week later: 5 GETs', measured: 'not run', pass: undefined }
        : { target: 'sync a week later: 5 GETs', measured: gets.join(', '), pass: gets.every((g) => g === 5) };
    })(),
  ];
}
