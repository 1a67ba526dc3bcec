// Commits completed files as soon as they arrive: a file verified and parsed is merged and marked
// done right away, so a crash loses at most the files still in flight. Files that arrive while a
// commit runs (or in the same turn of the event loop) go in together, in the next transaction.
import type { CompletedFile } from '../store/types.js';

export class BatchWriter {
  readonly #commit: (batch: readonly CompletedFile[]) => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #pending: CompletedFile[] = [];
  #running: Promise<void> | undefined;
  #failed = false;

  /** `onError` hears a failed commit once; later files are then dropped (not done: a rerun redoes them). */
  constructor(commit: (batch: readonly CompletedFile[]) => Promise<void>, onError: (error: unknown) => void) {
    this.#commit = commit;
    this.#onError = onError;
  }

  /** Files waiting for their transaction. */
  get pending(): number {
    return this.#pending.length;
  }

  add(file: CompletedFile): void {
    if (this.#failed) return;
    this.#pending.push(file);
    // setImmediate, not a timer: results already queued in this turn join the same batch.
    this.#running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  /** Resolves once every file added so far is committed (or the writer has failed). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#failed) {
        const batch = this.#pending;
        this.#pending = [];
        await this.#commit(batch);
      }
    } catch (error) {
      this.#failed = true;
      this.#pending = [];
      this.#onError(error);
    } finally {
      this.#running = undefined;
    }
  }
}
