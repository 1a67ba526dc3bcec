// What --metrics-file and --metrics-port show (docs/metrics.md): the series of a command, labelled
// by command and dataset, built with prom-client on registries of our own (never its global one:
// an application that imports the library may have its own metrics there). Loaded only when one
// of the flags is given.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ExportReport } from '../export/types.js';
import type { ProgressEvent } from '../events.js';
import type { PreloadReport } from '../preload.js';
import type { SyncReport } from '../sync.js';
import type { CommandEvent } from './context.js';
import { mergeIntoFile, readMetricsText, type Family } from './metrics-file.js';

const PREFIX = 'preload_market_data_';

/** The names the alert rules use (docs/metrics.md, docs/operations.md): a contract, never renamed. */
export const METRIC = {
  startTime: `${PREFIX}start_time_seconds`,
  endTime: `${PREFIX}end_time_seconds`,
  lastSuccessTime: `${PREFIX}last_success_time_seconds`,
  duration: `${PREFIX}duration_seconds`,
  exitCode: `${PREFIX}exit_code`,
  files: `${PREFIX}files_total`,
  bytes: `${PREFIX}bytes_total`,
  rows: `${PREFIX}rows_total`,
  retries: `${PREFIX}retries_total`,
  throttled: `${PREFIX}throttled_requests_total`,
  inFlight: `${PREFIX}downloads_in_flight`,
} as const;

/** The `state` label of files_total: a run's and a sync's four, an export's files written. */
export type FileState = 'listed' | 'downloaded' | 'skipped' | 'failed' | 'written';

/** A series' counters: what its command did (a field left out is not shown for that command). */
export interface Totals {
  files: Partial<Record<FileState, number>>;
  bytes: number;
  rows: number;
  retries?: number;
  throttled?: number;
}

/** A command's end, for every one of its series. */
export interface SeriesEnd {
  command: string;
  /** Unix seconds. */
  start: number;
  end: number;
  exitCode: number;
}

const LABELS = ['command', 'dataset'] as const;

/** Every series of the contract, registered on `register`. */
export function defineSeries(register: Registry): {
  startTime: Gauge<'command' | 'dataset'>;
  endTime: Gauge<'command' | 'dataset'>;
  lastSuccessTime: Gauge<'command' | 'dataset'>;
  duration: Gauge<'command' | 'dataset'>;
  exitCode: Gauge<'command' | 'dataset'>;
  files: Counter<'command' | 'dataset' | 'state'>;
  bytes: Counter<'command' | 'dataset'>;
  rows: Counter<'command' | 'dataset'>;
  retries: Counter<'command' | 'dataset'>;
  throttled: Counter<'command' | 'dataset'>;
} {
  const registers = [register];
  const gauge = (name: string, help: string): Gauge<'command' | 'dataset'> => new Gauge({ name, help, labelNames: LABELS, registers });
  const counter = (name: string, help: string): Counter<'command' | 'dataset'> => new Counter({ name, help, labelNames: LABELS, registers });
  return {
    startTime: gauge(METRIC.startTime, 'When the command started, in unix seconds.'),
    endTime: gauge(METRIC.endTime, 'When the command ended, failed or not, in unix seconds.'),
    lastSuccessTime: gauge(METRIC.lastSuccessTime, 'When the command last ended with exit code 0 for this dataset, in unix seconds (kept across failed runs).'),
    duration: gauge(METRIC.duration, "The command's wall time, in seconds."),
    exitCode: gauge(METRIC.exitCode, "The command's exit code (0 done, 1 files failed, 2 usage, 3 store, 75 another sync holds the cache, 130 interrupted)."),
    files: new Counter({
      name: METRIC.files,
      help: 'Files of this run by state: listed, downloaded, skipped (done earlier), failed (after their retries); an export counts the files it wrote.',
      labelNames: [...LABELS, 'state'],
      registers,
    }),
    bytes: counter(METRIC.bytes, 'Verified bytes downloaded by this run (an export: bytes written).'),
    rows: counter(METRIC.rows, 'Bars stored by this run (an export: rows written).'),
    retries: counter(METRIC.retries, 'Requests retried by this run.'),
    throttled: counter(METRIC.throttled, 'Answers in which the server throttled this run (503 SlowDown, 429).'),
  };
}

type Series = ReturnType<typeof defineSeries>;

/** Adds a series' counters (prom-client's counters only go up: a fresh series starts at 0). */
function addTotals(s: Series, labels: { command: string; dataset: string }, t: Totals): void {
  for (const [state, n] of Object.entries(t.files)) s.files.inc({ ...labels, state }, n);
  s.bytes.inc(labels, t.bytes);
  s.rows.inc(labels, t.rows);
  if (t.retries !== undefined) s.retries.inc(labels, t.retries);
  if (t.throttled !== undefined) s.throttled.inc(labels, t.throttled);
}

/** The datasets of a run as its report names them: comma-separated when symbols span several. */
function datasetKey(datasets: readonly string[]): string {
  return [...new Set(datasets)].join(',');
}

function runTotals(r: PreloadReport): Totals {
  return { files: { ...r.files }, bytes: r.bytes, rows: r.bars, retries: r.retries, throttled: r.throttled };
}

function addInto(into: Map<string, Totals>, key: string, t: Totals): void {
  const had = into.get(key);
  if (had === undefined) {
    into.set(key, t);
    return;
  }
  for (const [state, n] of Object.entries(t.files) as [FileState, number][]) had.files[state] = (had.files[state] ?? 0) + n;
  had.bytes += t.bytes;
  had.rows += t.rows;
  if (t.retries !== undefined) had.retries = (had.retries ?? 0) + t.retries;
  if (t.throttled !== undefined) had.throttled = (had.throttled ?? 0) + t.throttled;
}

/** A command's series from its report, by dataset; undefined when the report is not one we know. */
export function totalsOfReport(command: string, report: unknown): Map<string, Totals> | undefined {
  if (typeof report !== 'object' || report === null) return undefined;
  const out = new Map<string, Totals>();
  if (command === 'sync' && Array.isArray((report as SyncReport).parts)) {
    // One series per dataset a sync brought up to date (each part is a dataset and interval).
    for (const p of (report as SyncReport).parts) addInto(out, p.dataset, runTotals(p.report));
    return out;
  }
  if (command === 'export' && Array.isArray((report as ExportReport).files)) {
    const r = report as ExportReport;
    out.set(datasetKey(r.datasets), { files: { written: r.files.length }, bytes: r.bytes, rows: r.rows });
    return out;
  }
  if (command === 'run' && typeof (report as PreloadReport).files === 'object') {
    const r = report as PreloadReport;
    out.set(r.dataset, runTotals(r));
    return out;
  }
  return undefined;
}

const PROGRESS_FIELDS = ['listed', 'downloaded', 'skipped', 'failed', 'bytes', 'bars', 'retries', 'throttled'] as const;

/**
 * Collects a command's counters from its events, for the live endpoint and for a command that
 * ended with no report (it threw): progress snapshots are cumulative per run (a sync's part is a
 * run), so each adds what changed since the one before.
 */
export class EventTotals {
  readonly byDataset = new Map<string, Totals>();
  /** The dataset of the run now going (from its plan); '' before one, and for an export. */
  current = '';
  #last: ProgressEvent | undefined;
  readonly #onDelta: ((dataset: string, delta: Totals) => void) | undefined;

  constructor(onDelta?: (dataset: string, delta: Totals) => void) {
    this.#onDelta = onDelta;
  }

  event(e: CommandEvent): void {
    if (e.type === 'plan') {
      this.current = datasetKey(e.jobs.map((j) => j.dataset));
      this.#last = undefined;
      this.#add({ files: {}, bytes: 0, rows: 0 });
    } else if (e.type === 'progress') {
      const d = Object.fromEntries(PROGRESS_FIELDS.map((k) => [k, Math.max(0, e[k] - (this.#last?.[k] ?? 0))])) as Record<(typeof PROGRESS_FIELDS)[number], number>;
      this.#last = e;
      this.#add({ files: { listed: d.listed, downloaded: d.downloaded, skipped: d.skipped, failed: d.failed }, bytes: d.bytes, rows: d.bars, retries: d.retries, throttled: d.throttled });
    } else if (e.type === 'export-file') {
      this.#add({ files: { written: 1 }, bytes: e.bytes, rows: e.rows });
    }
  }

  #add(delta: Totals): void {
    addInto(this.byDataset, this.current, { ...delta, files: { ...delta.files } });
    this.#onDelta?.(this.current, delta);
  }
}

/** The file's text after this command: the other series kept, this command's replaced. */
export async function mergedText(current: string, end: SeriesEnd, totals: ReadonlyMap<string, Totals | undefined>): Promise<string> {
  const register = new Registry();
  const s = defineSeries(register);
  const ours = new Set(totals.keys());
  const succeeded = end.exitCode === 0;
  const kept: Family[] = [];
  const lastSuccess = new Map<string, number>();
  for (const f of readMetricsText(current)) {
    const metric = register.getSingleMetric(f.name);
    // Not ours (another version's, or written by hand): kept as it was.
    if (!(metric instanceof Gauge || metric instanceof Counter)) {
      kept.push(f);
      continue;
    }
    for (const sample of f.samples) {
      const command = sample.labels['command'] ?? '';
      const dataset = sample.labels['dataset'] ?? '';
      const mine = command === end.command && ours.has(dataset);
      if (mine && f.name === METRIC.lastSuccessTime) lastSuccess.set(dataset, sample.value);
      // A success of the command supersedes its failures that came before it knew its dataset.
      if (mine || (succeeded && command === end.command && dataset === '')) continue;
      try {
        if (metric instanceof Gauge) metric.set(sample.labels, sample.value);
        else metric.inc(sample.labels, Math.max(0, sample.value));
      } catch {
        // Labels this version does not declare: such a series cannot be carried over.
      }
    }
  }
  for (const [dataset, t] of totals) {
    const labels = { command: end.command, dataset };
    s.startTime.set(labels, end.start);
    s.endTime.set(labels, end.end);
    s.duration.set(labels, Math.max(0, end.end - end.start));
    s.exitCode.set(labels, end.exitCode);
    const last = succeeded ? end.end : lastSuccess.get(dataset);
    if (last !== undefined) s.lastSuccessTime.set(labels, last);
    if (t !== undefined) addTotals(s, labels, t);
  }
  return (await register.metrics()) + kept.map(familyText).join('');
}

/** A family we do not know, written back as it was read. */
function familyText(f: Family): string {
  const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  const lines = [`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${label(v)}"`);
    lines.push(`${s.name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${String(s.value).replace('Infinity', 'Inf')}`);
  }
  return `\n${lines.join('\n')}\n`;
}

/** True when `text` holds this command's series as written at `end` (or newer ones). */
export function holdsOurs(text: string, end: SeriesEnd, datasets: Iterable<string>): boolean {
  const family = readMetricsText(text).find((f) => f.name === METRIC.endTime);
  return [...datasets].every((dataset) =>
    family?.samples.some((s) => s.labels['command'] === end.command && s.labels['dataset'] === dataset && s.value >= end.end),
  );
}

/** Writes (merges) this command's series into the metrics file. */
export async function writeSeries(path: string, end: SeriesEnd, totals: ReadonlyMap<string, Totals | undefined>): Promise<void> {
  await mergeIntoFile(
    path,
    (current) => mergedText(current, end, totals),
    (text) => holdsOurs(text, end, totals.keys()),
  );
}

/** The live endpoint's registry: this command's series as they grow, in-flight downloads, the process's own. */
export class LiveMetrics {
  readonly register = new Registry();
  readonly #series = defineSeries(this.register);
  readonly #inFlight = new Gauge({ name: METRIC.inFlight, help: 'Downloads in flight at the last progress event.', registers: [this.register] });
  readonly #command: string;
  readonly #start: number;

  constructor(command: string, startSeconds: number) {
    this.#command = command;
    this.#start = startSeconds;
    collectDefaultMetrics({ register: this.register });
    // Gauges named like counters, which promtool's lint refuses; their per-type gauges
    // (nodejs_active_handles{type=...}, ...) stay, and sum to them.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.register.removeSingleMetric(name);
    this.#inFlight.set(0);
  }

  /** Counters grow by what the events added; a dataset's series appear with its run. */
  add(dataset: string, delta: Totals): void {
    const labels = { command: this.#command, dataset };
    this.#series.startTime.set(labels, this.#start);
    addTotals(this.#series, labels, delta);
  }

  event(e: CommandEvent): void {
    if (e.type === 'progress') this.#inFlight.set(e.inFlight);
  }

  /** Serves GET /metrics on host:port until `close()`. @throws the listen error (EADDRINUSE, ...) */
  async listen(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the metrics are at GET /metrics\n');
        return;
      }
      this.register.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.register.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The command's end closes it; it never keeps the process alive by itself.
    server.unref();
    return server;
  }
}
