// `check --all`'s pass over the bars: the store's day-major scan (Store.scanDays) fed into a small
// state per ticker (series.ts). A SQLite store is read in threads of their own, each scanning a
// range of the tickers (its series are its own: a ticker's checks never need another ticker's
// bars), so that the reading, which is three quarters of the work (bench/results/check.json,
// measured with a CPU profile), runs on every core; a PostgreSQL store on this thread, its rows
// arriving over the network. One thread per part for one long task: plain worker_threads.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads.js';
import { AbortedError } from '../errors.js';
import { sessionDay } from '../market-time.js';
import type { Split } from '../corporate-actions.js';
import type { Store, StoredDayChunk, StoreLocation, TickerRange } from '../store/types.js';
import { TickerSeries, type FindingSink } from './series.js';
import type { CheckEvent, Finding } from './types.js';

/** Rows a page of the store's scan holds at most. */
export const PAGE_ROWS = 65_536;
/**
 * How long a scan on the caller's thread runs before it lets the event loop turn: a SQLite store's
 * pages resolve at once, so without this no timer (progress lines, metrics) and no signal (Ctrl+C)
 * would be seen until the end.
 */
export const TURN_EVERY_MS = 50;
/** Threads at most: each holds the series of its tickers and a page of rows. */
const MAX_THREADS = 4;
/** Below this many tickers one thread is enough (a thread costs its start, ~50 ms). */
const THREADS_MIN_TICKERS = 2_000;

/** What a pass read. */
export interface Read {
  /** Tickers with bars in the window. */
  tickers: number;
  bars: number;
  days: number;
}

/** The window and what a pass is given. */
export interface ScanWindow {
  interval: '1d' | '1m';
  start: string;
  end: string;
}

/** One turn of the event loop (timers, I/O, signals run). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Every row of `chunks` into the series of its ticker, then each series finished with the calendar
 * (the days of the chunks, in order). `onChunk` after each chunk; `stopped` throws to stop.
 */
export async function scanSeries(
  chunks: AsyncIterable<StoredDayChunk>,
  daily: boolean,
  splits: ReadonlyMap<string, Split[]>,
  emit: FindingSink,
  stopped: () => void,
  onChunk: ((chunk: StoredDayChunk) => void) | undefined,
): Promise<Read> {
  const series = new Map<string, TickerSeries>();
  const calendar: string[] = [];
  let bars = 0;
  let current: TickerSeries | undefined;
  let turned = performance.now();
  for await (const chunk of chunks) {
    if (performance.now() - turned > TURN_EVERY_MS) {
      await turn();
      turned = performance.now();
    }
    stopped();
    if (calendar.at(-1) !== chunk.day) calendar.push(chunk.day);
    const index = calendar.length - 1;
    for (const r of chunk.rows) {
      const ticker = r[0];
      // A day's rows come by ticker: the series of the row before, most of the time.
      if (current?.ticker !== ticker) {
        current = series.get(ticker);
        if (current === undefined) {
          current = new TickerSeries(ticker, daily, splits.get(ticker) ?? [], emit);
          series.set(ticker, current);
        }
      }
      current.add(r[1], r[2], r[3], r[4], r[5], r[6], r[7], chunk.day, daily ? chunk.day : sessionDay(r[1]), index);
    }
    bars += chunk.rows.length;
    onChunk?.(chunk);
  }
  for (const s of series.values()) s.finish(calendar);
  return { tickers: series.size, bars, days: calendar.length };
}

/** What a part's thread is given. */
export interface ScanThreadData {
  location: StoreLocation;
  window: ScanWindow;
  range: TickerRange;
  splits: Array<[string, Split[]]>;
}

/** What a part's thread posts: a chunk read, then its findings and counts. */
export type ScanThreadMessage = { type: 'chunk'; day: string; rows: number; place: number; days: number } | { type: 'done'; findings: Finding[]; read: Read };

/** The parts `tickers` (sorted) are scanned in: one a thread, on a SQLite store of many tickers; otherwise none (scan on this thread). */
export function scanParts(store: Store, tickers: readonly string[], threads = Math.min(MAX_THREADS, availableParallelism())): TickerRange[] | undefined {
  if (store.scanLocation() === undefined || threads < 2 || tickers.length < THREADS_MIN_TICKERS) return undefined;
  const bounds = Array.from({ length: threads - 1 }, (_, k) => tickers[Math.floor(((k + 1) * tickers.length) / threads)]);
  return Array.from({ length: threads }, (_, k) => ({ from: k === 0 ? undefined : bounds[k - 1], to: bounds[k] }));
}

/**
 * The parts scanned at once, a thread each (scan-thread.ts), their findings handed to `emit` and
 * their counts added. Progress: a chunk event each time the slowest part has read one more day.
 */
export async function scanInThreads(
  location: StoreLocation,
  window: ScanWindow,
  parts: readonly TickerRange[],
  splits: ReadonlyMap<string, Split[]>,
  emit: FindingSink,
  signal: AbortSignal | undefined,
  onProgress: ((e: CheckEvent) => void) | undefined,
): Promise<Read> {
  const workers: Worker[] = [];
  const done = parts.map(() => 0);
  let reported = 0;
  const total: Read = { tickers: 0, bars: 0, days: 0 };
  let rows = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      const stop = (): void => reject(new AbortedError('Check stopped'));
      if (signal?.aborted) return stop();
      signal?.addEventListener('abort', stop, { once: true });
      for (const [i, range] of parts.entries()) {
        const workerData = { location, window, range, splits: [...splits] } satisfies ScanThreadData;
        const worker = startThread(import.meta.url, 'scan-thread', workerData);
        workers.push(worker);
        worker.on('message', (m: ScanThreadMessage) => {
          if (m.type === 'chunk') {
            rows += m.rows;
            done[i] = m.place;
            const slowest = Math.min(...done);
            if (slowest > reported) {
              reported = slowest;
              onProgress?.({ type: 'check-scan', day: m.day, rows, daysDone: slowest, daysTotal: m.days });
              rows = 0;
            }
            return;
          }
          for (const f of m.findings) emit(f);
          total.tickers += m.read.tickers;
          total.bars += m.read.bars;
          total.days = Math.max(total.days, m.read.days);
          if (++finished === parts.length) {
            signal?.removeEventListener('abort', stop);
            resolve();
          }
        });
        worker.on('error', (error: unknown) => reject(error instanceof Error ? error : new Error(`A check scan thread failed: ${JSON.stringify(error)}`)));
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`A check scan thread exited with code ${code}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return total;
}
