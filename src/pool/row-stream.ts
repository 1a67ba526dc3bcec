// The worker's end of an `--all` large file's port: chunks of rows go out as they are parsed, at
// most WINDOW of them unacknowledged. Inflating waits for the store, so memory stays flat whatever
// the file's size, and the socket's own flow control slows the download.
import type { MessagePort } from 'node:worker_threads';
import type { RowColumns } from '../types.js';
import type { RowAck, RowMessage } from './messages.js';

/** Chunks in flight to the store: one being staged, one waiting. */
const WINDOW = 2;

export class RowStream {
  readonly #port: MessagePort;
  readonly #stop: AbortSignal | undefined;
  #unacked = 0;
  #sent = false;
  #wake: (() => void) | undefined;

  constructor(port: MessagePort, stop?: AbortSignal) {
    this.#port = port;
    this.#stop = stop;
    port.on('message', (m: RowAck) => {
      if (m.type !== 'ack') return;
      this.#unacked -= 1;
      this.#wake?.();
    });
    stop?.addEventListener('abort', () => this.#wake?.(), { once: true });
  }

  /** A body starts (again): what an earlier attempt sent is void. */
  start(): void {
    if (this.#sent) this.#post({ type: 'reset' });
    this.#sent = false;
  }

  send(columns: RowColumns): void {
    if (columns.length === 0) return;
    const buffers = [columns.time, columns.open, columns.high, columns.low, columns.close, columns.volume, columns.transactions].map((c) => c.buffer as ArrayBuffer);
    this.#post({ type: 'rows', columns }, buffers);
    this.#sent = true;
    this.#unacked += 1;
  }

  /** Resolves once fewer than WINDOW chunks await the store (at once when the pool is stopping). */
  async drained(): Promise<void> {
    while (this.#unacked >= WINDOW && !this.#stop?.aborted) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  close(): void {
    this.#port.close();
  }

  #post(message: RowMessage, transfer: ArrayBuffer[] = []): void {
    this.#port.postMessage(message, transfer);
  }
}
