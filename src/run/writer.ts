// Commits completed files as soon as they arrive: a file verified and parsed is merged and marked
// done right away, so a crash loses at most the files still in flight. Files that arrive while a
// commit runs (or in the same turn of the event loop) go in together, in the next transaction.
import type { CompletedFile } from '../store/types.js';

interface Waiting {
  file: CompletedFile;
  settled: () => void;
}

export class BatchWriter {
  readonly #commit: (batch: readonly CompletedFile[]) => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #pending: Waiting[] = [];
  #running: Promise<void> | undefined;
  #failed = false;

  /** `onError` hears a failed commit once; later files are then dropped (not done: a rerun redoes them). */
  constructor(commit: (batch: readonly CompletedFile[]) => Promise<void>, onError: (error: unknown) => void) {
    this.#commit = commit;
    this.#onError = onError;
  }

  /**
   * Queues a file for the next transaction. Resolves once that transaction has ended (committed,
   * or failed and reported to `onError`): until then the file still counts as in flight, so a
   * slow store cannot pile up downloaded files that a crash would lose.
   */
  add(file: CompletedFile): Promise<void> {
    if (this.#failed) return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.#pending.push({ file, settled: resolve }));
    // setImmediate, not a timer: results already queued in this turn join the same batch.
    this.#running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    return settled;
  }

  /** Resolves once every file added so far is committed (or the writer has failed). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    let batch: Waiting[] = [];
    try {
      while (this.#pending.length > 0 && !this.#failed) {
        batch = this.#pending;
        this.#pending = [];
        await this.#commit(batch.map((w) => w.file));
        for (const w of batch) w.settled();
        batch = [];
      }
    } catch (error) {
      this.#failed = true;
      for (const w of [...batch, ...this.#pending]) w.settled();
      this.#pending = [];
      this.#onError(error);
    } finally {
      this.#running = undefined;
    }
  }
}
