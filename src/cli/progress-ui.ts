// The live bar on stderr, drawn from the library's events (the library itself never writes to
// the terminal). On a shared store it shows the whole job, every process's files.
import cliProgress from 'cli-progress';
import type { PlanEvent, PreloadEvent, ProgressEvent } from '../events.js';
import type { AssetClass } from '../symbols.js';
import { estimateRemainingMs, failureLine, formatDuration } from './format.js';

/** Where the bar is drawn. */
export interface UiStream extends NodeJS.WritableStream {
  isTTY?: boolean;
}

const KINDS: Record<AssetClass, string> = {
  stock: 'a stock',
  crypto: 'a crypto pair',
  forex: 'a forex pair',
  index: 'an index',
  option: 'an option',
};

/** Draws the live bar on stderr (only on a terminal) from the library's events. */
export class ProgressUi {
  readonly #bars: cliProgress.MultiBar | undefined;
  #bar: cliProgress.SingleBar | undefined;
  readonly #log: (s: string) => void;
  readonly #verbose: boolean;
  readonly #started = performance.now();
  #firstWork: number | undefined;
  #resumeSaid = false;
  /** Files of the job already done when this process first saw it (a shared store's ETA counts from there). */
  #jobBase: number | undefined;

  constructor(io: { stderr: UiStream }, log: (s: string) => void, verbose: boolean) {
    this.#log = log;
    this.#verbose = verbose;
    if (io.stderr.isTTY) {
      this.#bars = new cliProgress.MultiBar(
        {
          stream: io.stderr,
          // Payload names must not shadow cli-progress's own tokens (eta, duration, value...).
          format: '{bar} files {value}/{total} ({pct}%) | {mbps} MB/s | {rowsText} rows/s | {elapsedText} | ETA {etaText} | resumed: {skipped} skipped | failed: {failed}',
          hideCursor: true,
          fps: 10,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  onEvent(e: PreloadEvent): void {
    if (e.type === 'plan') this.#plan(e);
    else if (e.type === 'progress') this.#progress(e);
    else if (this.#verbose || !this.#bars) this.#say(failureLine(e));
  }

  stop(): void {
    this.#bars?.stop();
  }

  #say(s: string): void {
    if (this.#bars) this.#bars.log(`${s}\n`);
    else this.#log(s);
  }

  #plan(e: PlanEvent): void {
    for (const job of e.jobs) {
      for (const s of job.symbols) {
        // An --all job: one scope, every ticker of the dataset.
        if (s.symbol === '*') {
          this.#say(`Every ticker of ${job.dataset}, ${job.start ?? 'first available day'} to ${job.end}`);
          continue;
        }
        const kind = KINDS[s.assetClass] + (s.ticker === s.symbol ? '' : ` (${s.ticker})`);
        this.#say(
          job.defaultPeriod
            ? `Auto-detected: ${s.symbol} is ${kind}, using ${job.period} period`
            : `${s.symbol} is ${kind}, ${job.start ?? 'first available day'} to ${job.end}`,
        );
      }
    }
  }

  #progress(e: ProgressEvent): void {
    // On a shared store the bar shows the whole job (every process), not only this one's share.
    const total = e.job ? e.job.files : e.listed;
    const done = e.job ? e.job.done + e.job.failed : e.downloaded + e.skipped + e.failed;
    this.#jobBase ??= e.job ? done : 0;
    const worked = e.job ? done - this.#jobBase : e.downloaded + e.failed;
    if (worked > 0) this.#firstWork ??= performance.now();
    if (e.listingDone && !this.#resumeSaid) {
      this.#resumeSaid = true;
      if (e.skipped > 0 && e.skipped < e.listed) this.#say(`Resuming: ${e.skipped} of ${e.listed} files already done, downloading the other ${e.listed - e.skipped}`);
    }
    if (!this.#bars) return;
    const now = performance.now();
    const workMs = this.#firstWork === undefined ? 0 : now - this.#firstWork;
    const payload = {
      pct: total === 0 ? 0 : Math.floor((done / total) * 100),
      mbps: workMs > 0 ? (e.bytes / 1024 ** 2 / (workMs / 1000)).toFixed(1) : '0.0',
      rowsText: workMs > 0 ? formatCount(e.bars / (workMs / 1000)) : '0',
      elapsedText: formatDuration(now - this.#started),
      etaText: formatDuration(estimateRemainingMs({ total, done, worked, elapsedMs: workMs, listingDone: e.listingDone })),
      skipped: e.skipped,
      failed: e.job ? e.job.failed : e.failed,
    };
    if (!this.#bar) this.#bar = this.#bars.create(Math.max(total, 1), done, payload);
    this.#bar.setTotal(Math.max(total, 1));
    this.#bar.update(done, payload);
  }
}

/** 1234567 -> "1.2M", 45678 -> "45.7k": rows a second, short enough for the bar. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}
