import type { MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { PreloadError } from '../errors.js';
import { clockBuffer } from '../s3/clock.js';
import type { DownloadTask, TaskResult } from './messages.js';

export interface PoolLayout {
  /** Worker threads. */
  threads: number;
  /** Downloads each thread runs at once (its event loop interleaves them). */
  perThread: number;
}

/**
 * Maps N downloads in flight onto threads: about one thread per core, each interleaving several
 * downloads on its event loop. A run is CPU-bound (MD5 and inflate), so more threads than cores
 * only add start-up, memory and contention: measured on 2 cores, 2x10 beat 1x20 and 4x5 by
 * 10% and 20x1 by 1.9x (README, "Benchmark"). `cores` is the machine's unless given (tests).
 */
export function poolLayout(workers: number, threads?: number, cores: number = availableParallelism()): PoolLayout {
  const t = Math.min(workers, threads ?? Math.max(2, Math.min(4, cores)));
  return { threads: t, perThread: Math.ceil(workers / t) };
}

// Under the TypeScript sources (tests, tsx) the worker is a .ts file that needs tsx's loader;
// the published build runs the compiled .js directly.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;

/** What every thread of a pool receives at start-up. */
export interface PoolData {
  /** Int32 at index 0, set to 1 when the pool closes: each thread then stops its downloads. */
  stop: SharedArrayBuffer;
  /** The process's clock offset to the S3 server (s3/clock.ts), shared with the main thread. */
  clock: SharedArrayBuffer;
  /** How much lower than the main thread each thread runs (priority.ts); 0: the same. */
  nice: number;
}

/**
 * The threads' nice value when the main thread's store writer caps the run (`--all`): measured
 * on 2 cores, README "The whole market".
 */
export const WRITER_BOUND_NICE = 10;

/** How long close() waits for stopped downloads to settle before terminating the threads anyway. */
const SETTLE_MS = 5_000;

/** The thread pool of one run: created once, closed at the end so no thread outlives it. */
export class DownloadPool {
  readonly #piscina: Piscina<DownloadTask, TaskResult>;
  readonly layout: PoolLayout;
  #closing: Promise<void> | undefined;
  #broken: Error | undefined;
  readonly #stop = new SharedArrayBuffer(4);
  readonly #running = new Set<Promise<unknown>>();

  /** `nice`: how much lower the threads run than the main thread (PoolData). */
  constructor(layout: PoolLayout, nice = 0) {
    this.layout = layout;
    this.#piscina = new Piscina({
      filename: WORKER,
      minThreads: layout.threads,
      maxThreads: layout.threads,
      concurrentTasksPerWorker: layout.perThread,
      // The default 'sync' parks a thread's event loop between tasks; ours do async I/O.
      atomics: 'disabled',
      idleTimeout: 60_000,
      workerData: { stop: this.#stop, clock: clockBuffer(), nice } satisfies PoolData,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
    // Piscina emits 'error' for what no task can receive; with no listener that would crash the
    // process. While closing it is a result that was already on its way when destroy() rejected
    // its task (that key is not recorded, so a resume downloads it again): drop it. Otherwise a
    // thread failed outside any task: later tasks reject with it instead of crashing the process.
    this.#piscina.on('error', (error: unknown) => {
      if (this.#closing) return;
      this.#broken ??= new PreloadError('ERR_WORKER', `A download thread failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
  }

  // No AbortSignal per task: Piscina runs at most one abortable task per thread, which would
  // cap the downloads in flight at the thread count. Aborting a run closes the pool (close()) instead.
  /** `transfer`: what moves to the thread with the task (an `--all` large file's port). */
  run(task: DownloadTask, transfer?: readonly MessagePort[]): Promise<TaskResult> {
    if (this.#broken) return Promise.reject(this.#broken);
    const running = this.#piscina.run(task, transfer ? { transferList: [...transfer] } : {});
    const settled: Promise<unknown> = running.then(
      () => this.#running.delete(settled),
      () => this.#running.delete(settled),
    );
    this.#running.add(settled);
    return running;
  }

  /**
   * Ends every thread. Downloads still running stop and resolve as `ERR_ABORTED` (or complete, if
   * they were finishing); only then are the threads terminated, as Node can abort the whole
   * process when a thread is terminated while it sets up an inflate. Safe to call more than once.
   */
  async close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    await this.#closing;
  }

  async #shutDown(): Promise<void> {
    const flag = new Int32Array(this.#stop);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    // Not Piscina's own close(): with several tasks per thread it terminated threads while their
    // downloads were still running (tried: the pool test then fails on every run).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((r) => (timer = setTimeout(r, SETTLE_MS)));
    await Promise.race([Promise.allSettled([...this.#running]), late]);
    clearTimeout(timer);
    await this.#piscina.destroy();
  }
}
