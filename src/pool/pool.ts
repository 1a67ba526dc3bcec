import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
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
 * only add start-up, memory and contention: measured on 2 cores, 2x10 beat 1x20 by 5%, 4x5 by
 * 22% and 20x1 by 2x (README, "Benchmark").
 */
export function poolLayout(workers: number, threads?: number): PoolLayout {
  const t = Math.min(workers, threads ?? Math.max(2, Math.min(4, availableParallelism())));
  return { threads: t, perThread: Math.ceil(workers / t) };
}

// Under the TypeScript sources (tests, tsx) the worker is a .ts file that needs tsx's loader;
// the published build runs the compiled .js directly.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;

/** The thread pool of one run: created once, closed at the end so no thread outlives it. */
export class DownloadPool {
  readonly #piscina: Piscina<DownloadTask, TaskResult>;
  readonly layout: PoolLayout;
  #closing: Promise<void> | undefined;

  constructor(layout: PoolLayout) {
    this.layout = layout;
    this.#piscina = new Piscina({
      filename: WORKER,
      minThreads: layout.threads,
      maxThreads: layout.threads,
      concurrentTasksPerWorker: layout.perThread,
      // The default 'sync' parks a thread's event loop between tasks; ours do async I/O.
      atomics: 'disabled',
      idleTimeout: 60_000,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
  }

  // No AbortSignal per task: Piscina runs at most one abortable task per thread, which would
  // cap the downloads in flight at the thread count. Aborting a run destroys the pool instead.
  run(task: DownloadTask): Promise<TaskResult> {
    return this.#piscina.run(task);
  }

  /** Ends every thread; tasks still running reject. Safe to call more than once. */
  async close(): Promise<void> {
    this.#closing ??= this.#piscina.destroy();
    await this.#closing;
  }
}
