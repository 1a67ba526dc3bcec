// The SQLite store's work queue: one process owns its run, so the queue is a local FIFO, and a
// file is done in the store's own transaction (LocalCommits).
import type { DayFile, JobCounts } from '../../types.js';
import type { CompletedFile, FileNote, FileSink, JobSpec, WorkItem, WorkQueue } from '../types.js';
import type { StagedFile } from './staging.js';

/** What the local queue needs of its store (store.ts): its two commits and a staging area. */
export interface LocalCommits {
  /** A staging area for one large file of an `--all` job. */
  stage(): StagedFile;
  /**
   * Replaces the file's day with its staged rows, records its notes (with `replaces`, a `revised`
   * one when its bars changed) and marks it done, in one transaction; then drops the staging.
   */
  commitStaged(job: JobSpec, file: DayFile, staged: StagedFile, notes?: readonly FileNote[], replaces?: boolean): void;
  /** Merges a batch of files and marks them done, in one transaction. */
  commitNow(batch: readonly CompletedFile[]): void;
}

/** One process, one run: every file the listing offers is this process's to download. */
export class LocalQueue implements WorkQueue {
  readonly processId = undefined;
  readonly #store: LocalCommits;
  readonly #fifo: WorkItem[] = [];
  readonly #counts: JobCounts = { files: 0, done: 0, claimed: 0, failed: 0, pending: 0 };

  constructor(store: LocalCommits) {
    this.#store = store;
  }

  async offer(job: JobSpec, files: readonly DayFile[]): Promise<void> {
    for (const file of files) this.#fifo.push({ job: job.job, file });
    this.#counts.files += files.length;
  }

  async claim(n: number): Promise<WorkItem[]> {
    const items = this.#fifo.splice(0, n);
    this.#counts.claimed += items.length;
    return items;
  }

  async fail(): Promise<void> {
    this.#counts.claimed -= 1;
    this.#counts.failed += 1;
  }

  async release(items: readonly WorkItem[]): Promise<void> {
    this.#counts.claimed -= items.length;
  }

  async remaining(): Promise<{ pending: number; claimedByOthers: number }> {
    return { pending: this.#fifo.length, claimedByOthers: 0 };
  }

  async openFile(job: JobSpec, file: DayFile, opts: { replaces?: boolean | undefined } = {}): Promise<FileSink> {
    const staged = this.#store.stage();
    return {
      write: async (chunk) => staged.write(chunk),
      reset: async () => staged.clear(),
      commit: async (notes) => {
        this.#store.commitStaged(job, file, staged, notes, opts.replaces === true);
        this.#counts.claimed -= 1;
        this.#counts.done += 1;
      },
      abort: async () => staged.drop(),
    };
  }

  async complete(batch: readonly CompletedFile[]): Promise<void> {
    this.#store.commitNow(batch);
    this.#counts.claimed -= batch.length;
    this.#counts.done += batch.length;
  }

  async counts(): Promise<JobCounts> {
    return { ...this.#counts, pending: this.#fifo.length };
  }

  async processes(): Promise<[]> {
    return [];
  }

  async close(): Promise<void> {}
}
