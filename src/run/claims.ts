// The claim/idle state machine of a run: which claimed files wait (the buffer), which are being
// downloaded (the running set), when to ask the queue for more, and when the run is over. The
// downloads themselves are the `dispatch` callback's business.
import type { WorkItem, WorkQueue } from '../store/types.js';

/** How often a process that has nothing to claim looks again (another process's files may free up). */
const POLL_MS = 300;

export interface ClaimsParts {
  queue: Pick<WorkQueue, 'claim' | 'remaining' | 'processId'>;
  /** Downloads allowed in flight now (read at every pump: it moves as the server throttles). */
  limit: { readonly current: number };
  /** The run's signal: once aborted, nothing new starts or is claimed, and idle waits only for what runs. */
  signal: AbortSignal;
  /** Takes one claimed file to its end (done, failed or released); the file is in flight until it settles. */
  dispatch: (item: WorkItem) => Promise<void>;
  /** Hears a file leave the running set, before the next pump (the run emits its progress). */
  settled?: () => void;
  /** A claim or a remaining() that failed, or a dispatch that rejected: the run stops. */
  onError: (error: unknown) => void;
  /** @default 300 */
  pollMs?: number;
}

export class Claims {
  readonly #parts: ClaimsParts;
  readonly #pollMs: number;
  /** Claimed, not yet started. */
  readonly #buffer: WorkItem[] = [];
  /** Started, not yet settled. */
  readonly #running = new Set<WorkItem>();
  #listingDone = false;
  /** False after a claim came back empty, until new files are offered, a file ends or a poll finds some. */
  #claimable = false;
  #claiming = false;
  #checking = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #onIdle: (() => void) | undefined;

  constructor(parts: ClaimsParts) {
    this.#parts = parts;
    this.#pollMs = parts.pollMs ?? POLL_MS;
  }

  /** Files in flight now. */
  get running(): number {
    return this.#running.size;
  }

  /** New files were offered to the queue: there is something to claim. */
  offered(): void {
    this.#claimable = true;
    this.pump();
  }

  /** The listing has ended: once the queue has nothing left for anyone, the run is idle. */
  listingDone(): void {
    this.#listingDone = true;
  }

  /**
   * Resolves once nothing is in flight and the queue has nothing left for anyone (on a shared
   * store, files claimed by other live processes keep this one polling, so it can take them over
   * if their owner dies); after an abort, once nothing is in flight.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#onIdle = resolve;
      this.pump();
    });
  }

  /** Starts downloads while fewer than the limit are in flight; claims more when the buffer runs low. */
  pump(): void {
    const { limit, queue, signal } = this.#parts;
    const aborted = signal.aborted;
    while (!aborted && this.#running.size < limit.current && this.#buffer.length > 0) {
      const next = this.#buffer.shift();
      // What #run lets through is a throw of the settled hook: the run stops on it too.
      if (next) this.#run(next).catch((error: unknown) => this.#parts.onError(error));
    }
    // Only what can start now: on a shared store, a file claimed ahead is a file another process
    // could be downloading (measured: with 4 ahead, the first of 4 processes took 8 of a month's
    // 23 minute files and the last none).
    const room = limit.current - this.#running.size - this.#buffer.length;
    // A shared store's claim is a round trip and a query (~2-3 ms of the server's CPU): wait until
    // a quarter of the slots are free, unless nothing is running.
    const batch = queue.processId === undefined || this.#running.size === 0 ? 1 : Math.max(1, Math.floor(limit.current / 4));
    if (!aborted && room >= batch && this.#claimable && !this.#claiming) {
      this.#claim(room).catch((error: unknown) => this.#parts.onError(error));
    }
    this.#checkIdle();
  }

  /** Stops polling and hands back what was claimed and never started (to be released). */
  stop(): WorkItem[] {
    clearTimeout(this.#pollTimer);
    return this.#buffer.splice(0);
  }

  async #run(item: WorkItem): Promise<void> {
    this.#running.add(item);
    try {
      await this.#parts.dispatch(item);
    } catch (error) {
      this.#parts.onError(error);
    } finally {
      this.#running.delete(item);
      // A shared store's fair share grows as this process's files complete: ask again.
      this.#claimable = true;
      this.#parts.settled?.();
      this.pump();
    }
  }

  async #claim(n: number): Promise<void> {
    this.#claiming = true;
    try {
      const items = await this.#parts.queue.claim(n);
      if (items.length === 0) this.#claimable = false;
      else this.#buffer.push(...items);
    } catch (error) {
      this.#parts.onError(error);
    } finally {
      this.#claiming = false;
    }
    this.pump();
  }

  #checkIdle(): void {
    if (this.#running.size > 0 || this.#claiming || this.#checking) return;
    if (this.#parts.signal.aborted) {
      this.#onIdle?.();
      return;
    }
    if (!this.#listingDone || this.#buffer.length > 0 || this.#claimable) return;
    this.#checking = true;
    this.#parts.queue
      .remaining()
      .then(({ pending, claimedByOthers }) => {
        this.#checking = false;
        if (pending === 0 && claimedByOthers === 0) return this.#onIdle?.();
        if (pending > 0) this.#claimable = true;
        clearTimeout(this.#pollTimer);
        this.#pollTimer = setTimeout(() => {
          this.#claimable = true;
          this.pump();
        }, pending > 0 ? 0 : this.#pollMs);
      })
      .catch((error: unknown) => {
        this.#checking = false;
        this.#parts.onError(error);
        this.#onIdle?.();
      });
  }
}
