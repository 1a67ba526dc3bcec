// One claimed file, from its download task to what its outcome leaves behind: done with its bars
// (through the batch writer), failed (recorded in the queue, judged by the failure policy), or
// released when the run stopped under it. Every write it starts has landed when it settles, so a
// run that closes its queue once nothing is in flight never loses one.
import type { FailureEvent } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { DownloadTask, RowMessage, TaskResult } from '../pool/messages.js';
import type { S3Config } from '../s3/client.js';
import type { RateLimit } from '../s3/rate-limit.js';
import type { FileSink, WorkItem, WorkQueue } from '../store/types.js';
import type { Jobs, RunJob } from './jobs.js';
import type { FailurePolicy } from './policy.js';
import type { Failure } from './report.js';
import type { RunStats } from './stats.js';
import type { BatchWriter } from './writer.js';

/** Day files (~250 KB) are read at once; minute files (tens of MB) stream through. */
const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;

/** What every download task of a run shares; the file's own fields come from the work item. */
export type TaskSettings = Omit<DownloadTask, 'key' | 'day' | 'size' | 'etag' | 'lastModified' | 'tickers'>;

/** The settings of a run's tasks from its options and what the run set up (`config` undefined offline). */
export function taskSettings(
  o: Pick<ResolvedOptions, 'retries' | 'retryDelayMs' | 'timeoutMs' | 'keepRaw' | 'offline'>,
  run: { config: S3Config | undefined; rateLimit: RateLimit | undefined; throttleSignal: SharedArrayBuffer; rawDir: string },
): TaskSettings {
  return {
    // Undefined offline: the worker then reads the raw mirror only.
    config: run.config,
    retries: o.retries,
    minRetryDelayMs: o.retryDelayMs,
    requestTimeoutMs: o.timeoutMs,
    rateLimit: run.rateLimit,
    throttleSignal: run.throttleSignal,
    streamAboveBytes: STREAM_ABOVE_BYTES,
    rawDir: o.keepRaw || o.offline ? run.rawDir : undefined,
  };
}

export interface DispatchParts {
  jobs: Jobs;
  /** Runs one task on the download pool (`transfer`: an `--all` large file's port). */
  download: (task: DownloadTask, transfer?: readonly MessagePort[]) => Promise<TaskResult>;
  task: TaskSettings;
  queue: Pick<WorkQueue, 'fail' | 'release' | 'openFile'>;
  writer: Pick<BatchWriter, 'add'>;
  stats: RunStats;
  limit: { calm(): void };
  policy: FailurePolicy;
  /** Whether the listing found `item` republished (a new ETag for a file done before): its store compares old bars with new. */
  replaces?: (item: WorkItem) => boolean;
  /** The run's signal: a download that throws after it aborted was stopped, not failed. */
  signal: AbortSignal;
  onFailure: (event: FailureEvent) => void;
  /** Stops the run with this error. */
  fail: (error: unknown) => void;
}

export class Dispatch {
  readonly #parts: DispatchParts;
  readonly #failedJobs = new Set<string>();

  constructor(parts: DispatchParts) {
    this.#parts = parts;
  }

  /** Jobs with a file that failed in this run: their windows are not complete. */
  get failedJobs(): ReadonlySet<string> {
    return this.#failedJobs;
  }

  /**
   * Downloads one file and records its outcome; settles once that is recorded (the file counts
   * as in flight until then). Never rejects: what goes wrong stops the run through `fail`.
   */
  async file(item: WorkItem): Promise<void> {
    const { download, task, stats, limit, policy, writer, queue, signal, fail } = this.#parts;
    const { file } = item;
    let sink: FileSink | undefined;
    try {
      const job = this.#parts.jobs.get(item.job);
      const fileTask: DownloadTask = {
        ...task,
        key: file.key,
        day: file.day,
        size: file.size,
        etag: file.etag,
        tickers: job.spec.tickers as string[],
        all: job.spec.all === true,
        lastModified: file.lastModified,
      };
      // `--all` and a large file: its rows stream into a sink of the store as they are inflated.
      const streamed = job.spec.all === true && file.size > task.streamAboveBytes;
      const replaces = this.#parts.replaces?.(item) === true;
      if (streamed) sink = await queue.openFile(job.spec, file, { replaces });
      const result = sink ? await this.#streamed(fileTask, sink) : await download(fileTask);
      stats.counts.retries += result.retries;
      stats.counts.throttled += result.throttled;
      if (result.throttled === 0) limit.calm();
      if (result.ok) {
        policy.reached();
        stats.downloaded({ ...result, rows: result.rowCount ?? result.rows.length });
        if (result.columns) stats.sawTickers(result.columns.ticker);
        // Recorded with the file's bars, for `check`.
        const notes = stats.calendar(file, result);
        if (sink) {
          const done = sink;
          sink = undefined;
          await done.commit(notes);
        } else {
          // In flight until committed: a kill loses at most the files counted as in flight.
          await writer.add({ job: job.spec, file, rows: result.rows, columns: result.columns, notes, ...(replaces ? { replaces } : {}) });
        }
      } else if (result.code === 'ERR_ABORTED') {
        // Stopped by the run's abort: neither done nor failed; another process or the next run takes it.
        await queue.release([item]).catch(() => undefined);
      } else {
        await this.#failed(job, item, { key: result.key, code: result.code, message: result.message }, result.retries + 1);
      }
    } catch (error) {
      // An aborted task is neither done nor failed: the next run downloads it again.
      if (!signal.aborted) fail(error);
    } finally {
      // Not committed: what was staged is dropped (the file is failed, released or redone).
      await sink?.abort().catch((error: unknown) => {
        if (!signal.aborted) fail(error);
      });
    }
  }

  /**
   * Runs an `--all` large file's task with a port: each chunk of rows is staged in `sink`, in
   * order, and acknowledged once staged, which lets the worker inflate the next one.
   */
  async #streamed(task: DownloadTask, sink: FileSink): Promise<TaskResult> {
    const { stats } = this.#parts;
    const { port1, port2 } = new MessageChannel();
    let staged: Promise<void> = Promise.resolve();
    let failed: Error | undefined;
    // Rows received since the body last started: the task's result may arrive before the port's
    // last chunks (two channels), so the commit waits until every row it counts is staged.
    let received = 0;
    let arrived: (() => void) | undefined;
    port1.on('message', (m: RowMessage) => {
      if (m.type === 'reset') received = 0;
      else received += m.columns.length;
      arrived?.();
      staged = staged
        .then(async () => {
          if (failed !== undefined) return;
          if (m.type === 'reset') await sink.reset();
          else {
            await sink.write(m.columns);
            stats.sawTickers(m.columns.ticker);
          }
        })
        .catch((error: unknown) => {
          failed ??= error instanceof Error ? error : new Error(String(error));
        })
        // Acknowledged even after a failure: the worker must not wait for ever.
        .finally(() => port1.postMessage({ type: 'ack' }));
    });
    try {
      const result = await this.#parts.download({ ...task, port: port2 }, [port2]);
      if (result.ok) {
        const rows = result.rowCount ?? 0;
        while (received < rows) await new Promise<void>((resolve) => (arrived = resolve));
      }
      await staged;
      // The store failed under it: the run stops with that error (this file is left undone).
      if (failed !== undefined) throw failed;
      return result;
    } finally {
      port1.close();
    }
  }

  /** Counts and reports the failure, records it in the queue, and stops the run if the policy says so. */
  async #failed({ plan }: RunJob, item: WorkItem, failure: Failure, attempts: number): Promise<void> {
    const { stats, policy, queue, onFailure, fail } = this.#parts;
    this.#failedJobs.add(plan.job);
    stats.failed(failure);
    onFailure({ type: 'failure', ...failure, attempts });
    // Awaited below: until the write lands the file is in flight, so the queue is not closed
    // (its claims released) before it, which would leave the file pending instead of failed.
    const recorded = queue.fail(item, failure).catch((error: unknown) => fail(error));
    // Judged without waiting for the write: a run that must stop stops now, not a round trip later.
    const stop = policy.failed(plan.dataset, failure);
    if (stop) fail(stop);
    await recorded;
  }
}
