// Logs for runs nobody watches (cron, systemd timers, a backfill on several machines):
// `--log-format json` writes one JSON object per line on stderr for each event (start, plan,
// listing, each failed file, progress with the retries and throttling of the interval, end,
// error), and with either format a progress line every `--stats-interval` seconds when stderr is
// not a terminal, as rclone's --stats lines are. An observer of the runner (observe.ts): it never
// changes what a command does or prints on stdout.
//
// Why pino: the structured logger most Node services already ship to journald, Loki or ELK, with
// pid and hostname in every line by default. Measured here (2 cores, loaded): ~3 µs a line, as
// much as a bare JSON.stringify of the same object, and ~20 ms to import, so it is imported only
// when JSON logs are asked for. It writes through the runner's stderr (tests hand main() their
// own), which Node writes synchronously to files and pipes on Linux: no line is lost at exit.
// Time is ISO 8601 (UTC) rather than pino's epoch milliseconds: a journal or a log file is read by
// people as well as by jq, and the ISO string still sorts and parses everywhere.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { CheckEvent } from '../check/types.js';
import type { PlanEvent, PreloadEvent, ProgressEvent } from '../events.js';
import type { ExportEvent } from '../export/types.js';
import { maskUrl } from '../store-url.js';
import { EXIT, errorLine } from './exit.js';
import { estimateRemainingMs, failureMessage, formatBytes, formatDuration } from './format.js';
import type { Command } from './commands.js';
import { UsageError, type CommandLine } from './parse.js';
import { readVersion } from './version.js';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Seconds between two progress lines when stderr is not a terminal. */
export const DEFAULT_STATS_INTERVAL_S = 30;

export interface LogSettings {
  format: LogFormat;
  /** 0: no progress lines. */
  statsIntervalMs: number;
}

/** The two flags as given, checked: one line naming the flag and the value otherwise. @throws UsageError */
export function logSettings(values: CommandLine['values'], c?: Command): LogSettings {
  const format = values['log-format'] ?? 'text';
  if (typeof format !== 'string' || !(LOG_FORMATS as readonly string[]).includes(format)) {
    const near = LOG_FORMATS.find((f) => typeof format === 'string' && format.toLowerCase().startsWith(f.slice(0, 1)));
    throw new UsageError(`option --log-format must be ${LOG_FORMATS.join(' or ')}, got ${String(format)}${near === undefined ? '' : ` (did you mean ${near}?)`}`, c);
  }
  const interval = values['stats-interval'] ?? String(DEFAULT_STATS_INTERVAL_S);
  const seconds = typeof interval === 'string' && /^\d+(\.\d+)?$/.test(interval.trim()) ? Number(interval) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds > 86_400) {
    throw new UsageError(`option --stats-interval must be a number of seconds from 0 (off) to 86400, got ${String(interval)}, e.g. --stats-interval 30`, c);
  }
  return { format: format as LogFormat, statsIntervalMs: Math.round(seconds * 1000) };
}

/** True when the command line asks for JSON logs (also when the rest of the line is bad: its usage error is then a JSON line). */
export function wantsJsonLog(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--log-format=json' || (a === '--log-format' && argv[i + 1] === 'json'));
}

/** The job every line names: what the command works on. */
export interface LogJob {
  dataset?: string;
  interval?: string;
  /** The symbols (the first 20 of a longer list: `symbolCount` has them all). */
  symbols?: string[];
  symbolCount?: number;
  /** `--all`: every ticker of the dataset. */
  all?: true;
}

const SHOWN_SYMBOLS = 20;

function withSymbols(job: LogJob, symbols: readonly string[]): LogJob {
  if (symbols.includes('*')) return { ...job, all: true };
  if (symbols.length === 0) return job;
  return { ...job, symbols: symbols.slice(0, SHOWN_SYMBOLS), ...(symbols.length > SHOWN_SYMBOLS && { symbolCount: symbols.length }) };
}

/** The job as the command line gives it, before the library has planned it. */
export function jobOfLine(line: CommandLine): LogJob {
  const v = line.values;
  // sync and status take no symbols (a sync's job comes with each plan); actions have no interval.
  const name = line.command.name;
  if (name === 'sync' || name === 'status') return {};
  const job: LogJob = {};
  if (typeof v['dataset'] === 'string') job.dataset = v['dataset'];
  if (name !== 'actions') job.interval = typeof v['interval'] === 'string' ? v['interval'] : '1d';
  if (v['all'] === true) return { ...job, all: true };
  return withSymbols(job, line.positionals.map((s) => s.toUpperCase()));
}

/** The job of a plan (a sync plans once per dataset and interval). */
export function jobOfPlan(e: PlanEvent, before: LogJob, command: string): LogJob {
  const datasets = [...new Set(e.jobs.map((j) => j.dataset))];
  const dataset = datasets.join(' ');
  // A sync's parts are per stored interval: minute files are stored as 1m bars.
  const interval = command === 'sync' ? (datasets.some((d) => d.includes('minute_aggs')) ? '1m' : '1d') : before.interval;
  const symbols = e.jobs.flatMap((j) => j.symbols.map((s) => s.symbol));
  return withSymbols({ dataset, ...(interval !== undefined && { interval }) }, symbols);
}

/**
 * The flags given, as the start line shows them: every URL's password masked (a store URL is the
 * one flag that may carry a secret; credentials and the API key are never flags).
 */
export function loggedOptions(values: CommandLine['values']): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    // serve's token is a secret: never in a log line.
    if (name === 'token') {
      out[name] = '***';
      continue;
    }
    out[name] = typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? maskUrl(v) : v;
  }
  return out;
}

/** One progress snapshot of a run, ready to print. */
export interface ProgressStats {
  done: number;
  total: number;
  /** False while the listing goes on: `total` may still grow. */
  listingDone: boolean;
  bytes: number;
  bytesPerSecond: number;
  /** NaN when unknown. */
  etaMs: number;
  failed: number;
  /** Since the previous progress line. */
  retries: number;
  throttled: number;
}

/** Counts of a run's progress events between two lines: the rate from the first file worked on, retries as deltas. */
export class ProgressMeter {
  #last: ProgressEvent | undefined;
  #jobBase: number | undefined;
  #firstWork: number | undefined;
  #retriesSaid = 0;
  #throttledSaid = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  get seen(): boolean {
    return this.#last !== undefined;
  }

  /** True when something changed since the last line. */
  get changed(): boolean {
    const e = this.#last;
    return e !== undefined && (e.retries !== this.#retriesSaid || e.throttled !== this.#throttledSaid || this.#changed);
  }

  #changed = false;

  onProgress(e: ProgressEvent): void {
    const { done, worked } = this.#counts(e);
    if (worked > 0) this.#firstWork ??= this.#now();
    this.#changed = this.#changed || this.#last === undefined || done !== this.#counts(this.#last).done || e.bytes !== this.#last.bytes;
    this.#last = e;
  }

  #counts(e: ProgressEvent): { total: number; done: number; worked: number } {
    // On a shared store the whole job (every process), as the bar shows it.
    const total = e.job ? e.job.files : e.listed;
    const done = e.job ? e.job.done + e.job.failed : e.downloaded + e.skipped + e.failed;
    this.#jobBase ??= e.job ? done : 0;
    const worked = e.job ? done - this.#jobBase : e.downloaded + e.failed;
    return { total, done, worked };
  }

  /** The snapshot for a line; the retries and throttling it reports are not reported again. */
  take(): ProgressStats | undefined {
    const e = this.#last;
    if (e === undefined) return undefined;
    const { total, done, worked } = this.#counts(e);
    const workMs = this.#firstWork === undefined ? 0 : this.#now() - this.#firstWork;
    const stats: ProgressStats = {
      done,
      total,
      listingDone: e.listingDone,
      bytes: e.bytes,
      bytesPerSecond: workMs > 0 ? e.bytes / (workMs / 1000) : 0,
      etaMs: estimateRemainingMs({ total, done, worked, elapsedMs: workMs, listingDone: e.listingDone }),
      failed: e.job ? e.job.failed : e.failed,
      retries: e.retries - this.#retriesSaid,
      throttled: e.throttled - this.#throttledSaid,
    };
    this.#retriesSaid = e.retries;
    this.#throttledSaid = e.throttled;
    this.#changed = false;
    return stats;
  }
}

/** `files 120/1255 (9%), 28.1 MB, 3.2 MB/s, ETA 5m12s, retries +3, throttled +1, failed 2`. */
export function progressText(s: ProgressStats): string {
  const pct = s.total === 0 ? 0 : Math.floor((s.done / s.total) * 100);
  const parts = [
    `files ${s.done}/${s.total}${s.listingDone ? '' : '+'} (${pct}%)`,
    formatBytes(s.bytes),
    `${formatBytes(s.bytesPerSecond)}/s`,
    `ETA ${formatDuration(s.etaMs)}`,
  ];
  if (s.retries > 0) parts.push(`retries +${s.retries}`);
  if (s.throttled > 0) parts.push(`throttled +${s.throttled}`);
  if (s.failed > 0) parts.push(`failed ${s.failed}`);
  return parts.join(', ');
}

function progressFields(s: ProgressStats): Record<string, unknown> {
  return {
    files: { done: s.done, total: s.total, listingDone: s.listingDone, failed: s.failed },
    bytes: s.bytes,
    bytesPerSecond: Math.round(s.bytesPerSecond),
    etaSeconds: Number.isFinite(s.etaMs) ? Math.round(s.etaMs / 1000) : null,
    retries: s.retries,
    throttled: s.throttled,
  };
}

/** An export's or a check's progress: the last of its events. */
function exportText(e: ExportEvent | CheckEvent): string {
  if (e.type === 'check-scan') return `check: read ${e.daysDone}/${e.daysTotal} days (${e.day})`;
  if (e.type === 'check-symbol') return `check: read ${e.symbolsDone}/${e.symbolsTotal} symbols`;
  if (e.type === 'export-read') return `export: read ${e.symbolsDone}/${e.symbolsTotal} symbols`;
  if (e.type === 'export-scan') return `export: read ${e.daysDone}/${e.daysTotal} days`;
  return `export: wrote ${e.filesDone}/${e.filesTotal} files`;
}

/** The counts of a command's report for the end line, whatever the command (run, sync, export, check). */
export function reportCounts(report: unknown): Record<string, unknown> {
  if (typeof report !== 'object' || report === null) return {};
  const r = report as Record<string, unknown>;
  // A check's report: what it read and what it found, not the findings themselves.
  if (Array.isArray(r['findings'])) return { tickers: r['tickers'], bars: r['bars'], days: r['days'], findings: r['findings'].length, counts: r['counts'], kinds: r['kinds'] };
  if (Array.isArray(r['parts'])) {
    const parts = (r['parts'] as Array<{ report: unknown }>).map((p) => reportCounts(p.report));
    const sum = (k: string): number => parts.reduce((n, p) => n + (typeof p[k] === 'number' ? p[k] : 0), 0);
    const files = (k: string): number => parts.reduce((n, p) => n + ((p['files'] as Record<string, number> | undefined)?.[k] ?? 0), 0);
    return {
      parts: parts.length,
      files: { listed: files('listed'), downloaded: files('downloaded'), skipped: files('skipped'), failed: files('failed') },
      bytes: sum('bytes'),
      bars: sum('bars'),
      retries: sum('retries'),
      throttled: sum('throttled'),
      failures: sum('failures'),
    };
  }
  if (Array.isArray(r['files'])) return { files: r['files'].length, rows: r['rows'], bytes: r['bytes'] };
  if (typeof r['files'] !== 'object' || r['files'] === null) return {};
  return {
    files: r['files'],
    bytes: r['bytes'],
    bars: r['bars'],
    retries: r['retries'],
    throttled: r['throttled'],
    failures: Array.isArray(r['failures']) ? r['failures'].length : 0,
  };
}

/** What the log observer is given (observe.ts's ObserverContext, named here so this module does not import the seam that imports it). */
export interface LogContext {
  line: CommandLine;
  io: { stderr: NodeJS.WritableStream & { isTTY?: boolean } };
  redact: (s: string) => string;
}

export interface LogEnd {
  exitCode: number;
  report: unknown;
  error: unknown;
  elapsedMs: number;
}

/** A pino logger writing JSON lines through `write`, each line with time, level, pid, hostname and what `mixin` adds. */
export async function jsonLogger(write: (s: string) => void, mixin: () => Record<string, unknown>): Promise<Logger> {
  const { pino, stdTimeFunctions } = await import('pino');
  return pino(
    {
      base: { pid: process.pid, hostname: hostname() },
      timestamp: stdTimeFunctions.isoTime,
      // Labels ("info", "error") rather than numbers: `jq 'select(.level == "error")'`, and readable in a journal.
      formatters: { level: (label) => ({ level: label }) },
      mixin,
    },
    { write },
  );
}

/** The one line of a usage error found before the command starts, as JSON when `--log-format json` was asked for. */
export async function usageErrorJson(command: string, message: string): Promise<string> {
  let out = '';
  const logger = await jsonLogger((s) => (out += s), () => ({ command, job: {} }));
  logger.error({ code: 'ERR_USAGE', exitCode: EXIT.usage }, message);
  return out.trimEnd();
}

/**
 * The log observer: JSON lines with `--log-format json`; with text, only the progress lines (the
 * bar and the notes are the text log). None when there is nothing to write.
 */
export class LogObserver {
  readonly #line: CommandLine;
  readonly #write: (s: string) => void;
  #logger: Logger | undefined;
  readonly #verbose: boolean;
  #job: LogJob;
  #meter = new ProgressMeter();
  #listed = false;
  #linesSaid = 0;
  /** The last event of an export or a check (commands without files to count). */
  #export: ExportEvent | CheckEvent | undefined;
  #exportSaid: ExportEvent | CheckEvent | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(c: LogContext, settings: LogSettings) {
    this.#line = c.line;
    this.#verbose = c.line.values['verbose'] === true;
    this.#write = (s) => void c.io.stderr.write(c.redact(s));
    this.#job = jobOfLine(c.line);
    const progressOn = settings.statsIntervalMs > 0 && (settings.format === 'json' || (!c.io.stderr.isTTY && c.line.values['quiet'] !== true));
    if (progressOn) {
      // unref: a timer must never keep a finished command alive.
      this.#timer = setInterval(() => this.#tick(), settings.statsIntervalMs).unref();
    }
  }

  /** `--log-format json`: the logger (pino is imported only then), and the start line. */
  async openJson(): Promise<void> {
    this.#logger = await jsonLogger(this.#write, () => ({ command: this.#line.command.name, job: this.#job }));
    this.#logger.info({ version: readVersion(), options: loggedOptions(this.#line.values), operands: this.#line.positionals }, 'start');
  }

  /** True when this observer writes something: JSON logs, or progress lines. */
  get active(): boolean {
    return this.#logger !== undefined || this.#timer !== undefined;
  }

  /** With JSON logs, the lines a command would write on stderr are JSON lines too (level warn). */
  get stderr(): ((s: string) => void) | undefined {
    const logger = this.#logger;
    return logger === undefined ? undefined : (s) => logger.warn(s);
  }

  event(e: PreloadEvent | ExportEvent | CheckEvent): void {
    if (e.type === 'plan') {
      // A sync runs one part per dataset: the previous part's last numbers first.
      this.#finalProgress();
      this.#meter = new ProgressMeter();
      this.#listed = false;
      this.#job = jobOfPlan(e, this.#job, this.#line.command.name);
      this.#logger?.info({ jobs: e.jobs.map((j) => ({ dataset: j.dataset, start: j.start ?? null, end: j.end, period: j.period ?? null, symbols: j.symbols.length })) }, 'plan');
    } else if (e.type === 'progress') {
      this.#meter.onProgress(e);
      if (e.listingDone && !this.#listed) {
        this.#listed = true;
        const files = e.job ? e.job.files : e.listed;
        this.#logger?.info({ files, skipped: e.skipped, toDownload: Math.max(0, files - (e.job ? e.job.done : e.skipped)), republished: e.republished }, 'listing');
      }
    } else if (e.type === 'failure') {
      // The key is a field of its own: not repeated in the message.
      this.#logger?.error({ key: e.key, code: e.code, ...(e.attempts !== undefined && { attempts: e.attempts }), message: failureMessage(e) }, 'file failed');
    } else {
      this.#export = e;
    }
  }

  end(end: LogEnd): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#finalProgress();
    const logger = this.#logger;
    if (logger === undefined) return;
    if (end.error !== undefined) {
      const error = end.error;
      const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : error instanceof UsageError ? 'ERR_USAGE' : 'ERR_UNEXPECTED';
      const stack = this.#verbose && error instanceof Error ? { stack: error.stack } : {};
      logger.error({ code, exitCode: end.exitCode, ...stack }, errorLine(error, this.#line.command));
    }
    logger.info({ exitCode: end.exitCode, elapsedMs: Math.round(end.elapsedMs), ...reportCounts(end.report) }, 'end');
  }

  #tick(): void {
    if (this.#meter.seen) {
      const stats = this.#meter.take();
      if (stats !== undefined) this.#progress(stats);
    } else if (this.#export !== undefined && this.#export !== this.#exportSaid) {
      this.#exportSaid = this.#export;
      const e = this.#export;
      if (this.#logger) this.#logger.info(e.type === 'check-scan' || e.type === 'check-symbol' ? { check: e } : { export: e }, 'progress');
      else this.#write(`${exportText(this.#export)}\n`);
    }
  }

  /** The last numbers of a run, when progress lines were printed and something changed since. */
  #finalProgress(): void {
    if (this.#timer === undefined || this.#linesSaid === 0 || !this.#meter.changed) return;
    const stats = this.#meter.take();
    if (stats !== undefined) this.#progress(stats);
  }

  #progress(s: ProgressStats): void {
    this.#linesSaid += 1;
    if (this.#logger) this.#logger.info(progressFields(s), 'progress');
    else this.#write(`${progressText(s)}\n`);
  }
}

/** The observer factory observe.ts registers: settings are checked by the runner before any command starts. */
export async function logObserver(c: LogContext): Promise<LogObserver | undefined> {
  const settings = logSettings(c.line.values);
  const o = new LogObserver(c, settings);
  if (settings.format === 'json') await o.openJson();
  return o.active ? o : undefined;
}
