/**
 * The circuit breaker: after `threshold` files in a row could not even connect, the endpoint is
 * down and trying every other key would only fail them all; the run stops, keeping its progress.
 */
export class Breaker {
  readonly #threshold: number;
  #inARow = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /** Files in a row that could not connect. */
  get count(): number {
    return this.#inARow;
  }

  /** A file reached the server (whatever its outcome). */
  reached(): void {
    this.#inARow = 0;
  }

  /** A file could not connect. Returns true when the breaker trips. */
  unreachable(): boolean {
    this.#inARow += 1;
    return this.#inARow >= this.#threshold;
  }
}
