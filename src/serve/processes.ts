// Several serve processes on one port (node:cluster): a SQLite read blocks its thread, so one
// process answers on one core; N processes answer on N. Each has its own store connection, answer
// cache (emptied by its own watch of the store) and /metrics. The primary only forks, forwards the
// stop and waits: it answers nothing itself.
//
// Why node:cluster over worker threads doing the reads (piscina): profiled under the serve bench's
// uncached load (--cpu-prof, bench/lib/profile.ts), a random ticker's 5-year answer cost ~3.3 ms
// of a core (before the store encoded its bars as JSON; ~2 ms since): ~1.1 ms the store read (its rows as arrays, bars.ts), ~0.9 ms JSON.stringify, ~0.5 ms
// garbage collection, the rest the HTTP shell and socket writes. A pool of readers would move about
// a third of it off the HTTP thread, which would still build and serialize every answer on one
// core. Whole processes scale all of it, and need no change to the answers' code.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** The young generation's semi-space of each answering process (MB): see startProcesses. */
const SEMI_SPACE_MB = 2;

/** Set in the environment of the processes the primary forks. */
const WORKER_ENV = 'PRELOAD_SERVE_WORKER';

/** Processes by default: one per core; one with `fill` (a download is shared only within a process). */
export function defaultProcesses(fill: boolean): number {
  return fill ? 1 : availableParallelism();
}

/** True in a process forked by {@link startProcesses}. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

/** What a worker tells the primary once it listens. */
export interface Listening {
  kind: 'listening';
  url: string;
  where: string;
  caching: boolean;
}

/** In a worker: tells the primary where it listens. */
export function reportListening(l: Omit<Listening, 'kind'>): void {
  process.send?.({ kind: 'listening', ...l } satisfies Listening);
}

/**
 * In a worker: resolves when the primary says stop (or goes away: its channel closes), so that a
 * worker stops once, whether Ctrl+C reached it too (the terminal signals the whole group) or not.
 */
export function stopRequested(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m: unknown) => {
      if ((m as { kind?: unknown } | null)?.kind === 'stop') resolve();
    });
    process.once('disconnect', () => resolve());
  });
}

/**
 * In a worker: closes the channel to the primary, which would keep the process alive once its
 * command returns. Through cluster's own disconnect: a bare `process.disconnect()` makes a worker
 * exit 0 at once (cluster takes it for the primary gone), losing its exit code and its last line.
 */
export function leavePrimary(): void {
  if (cluster.worker?.isConnected()) cluster.worker.disconnect();
}

/** The processes started by {@link startProcesses}. */
export interface ProcessGroup {
  /** What the first worker said once it listened (all listen on the same port). */
  readonly listening: Listening;
  readonly pids: readonly number[];
  /** Resolves with the exit code of the first worker that exits unasked (a crash). */
  readonly failed: Promise<number>;
  /** Asks every worker to stop (each finishes its requests in flight); resolves with their exit codes. */
  stop(): Promise<number[]>;
}

/**
 * Forks `n` workers running this same program (the CLI, its arguments unchanged): the first alone,
 * so that a failure to listen (a port taken) is reported once, then the others. Rejects with the
 * first worker's exit code when it exits before listening (it has printed why).
 */
export async function startProcesses(n: number): Promise<ProcessGroup> {
  // Each process accepts its own connections from the shared socket, rather than the primary
  // accepting them all and handing each over (node's default on Linux, round-robin): measured on
  // the serve bench's overload row (128 connections, 2 processes, 2 cores), /healthz p99 40 and
  // 69 ms this way against 100 and 269 ms round-robin, as many answers a second or more. The
  // primary's hand-over waits for the primary to get a core. NODE_CLUSTER_SCHED_POLICY still wins.
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  // A smaller young generation in each answering process: an answer's garbage (its bars, its
  // JSON) is short-lived, and V8's default lets each process hold up to ~48 MB of it between
  // scavenges. Measured on the serve bench's uncached row (2 processes, 32 connections, 2 rounds
  // each, one setting after the other, before the store encoded day answers' bars): peak RSS summed over the 3 processes ~439 MB by default,
  // 398-404 MB at 4 MB, 397 at 3 MB, 383-384 at 2 MB, for 623-631, 612 and 595 answers a second
  // (p99 88-89, 100, 95-101 ms: the machine's noise is as large). The old generation keeps its
  // default: one intraday answer may hold hundreds of thousands of bars. A flag given wins.
  if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) && !/--max-semi-space-size/.test(process.env['NODE_OPTIONS'] ?? '')) {
    cluster.setupPrimary({ execArgv: [...process.execArgv, `--max-semi-space-size=${SEMI_SPACE_MB}`] });
  }
  const workers: Worker[] = [];
  const codes = new Map<Worker, Promise<number>>();
  let stopping = false;
  let onFailed: (code: number) => void = () => {};
  const failed = new Promise<number>((resolve) => (onFailed = resolve));
  const fork = (): Promise<Listening> => {
    const w = cluster.fork({ [WORKER_ENV]: '1' });
    workers.push(w);
    const exit = new Promise<number>((resolve) => w.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15))));
    codes.set(w, exit);
    exit.then(
      (code) => {
        if (!stopping) onFailed(code === 0 ? 1 : code);
      },
      () => {},
    );
    return new Promise<Listening>((resolve, reject) => {
      w.on('message', (m: unknown) => {
        if ((m as { kind?: unknown } | null)?.kind === 'listening') resolve(m as Listening);
      });
      exit.then(
        (code) => reject(new WorkerExit(code)),
        () => {},
      );
    });
  };
  const stop = async (): Promise<number[]> => {
    stopping = true;
    for (const w of workers) {
      // The channel may be gone already (the worker exited): nothing to tell it.
      if (w.isConnected()) w.send({ kind: 'stop' });
    }
    return Promise.all(workers.map((w) => codes.get(w) ?? Promise.resolve(0)));
  };
  try {
    const first = await fork();
    await Promise.all(Array.from({ length: n - 1 }, fork));
    return { listening: first, pids: workers.map((w) => w.process.pid ?? 0), failed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A worker exited before it listened; it printed why. */
export class WorkerExit extends Error {
  constructor(readonly code: number) {
    super(`a serve process exited with code ${code} before listening`);
    this.name = 'WorkerExit';
  }
}
