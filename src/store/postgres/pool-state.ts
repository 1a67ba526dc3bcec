// What this process keeps beside one store's pool, in one object its Db holds: what it knows of
// bar_symbols, which pooled connections have the merge's temporary table, how many sink commits
// run, how many sinks it opened. Two stores open in one process (tests, a library user) each have
// their own.
import type pg from 'pg';
import { TickerSet } from '../../symbols.js';

/**
 * Commits of sinks in flight at once per pool: a large file's commit holds its connection for
 * seconds, and four of them would leave none of the pool's 4 for the other sinks' writes and the claims.
 */
const COMMITS_PER_POOL = 2;

/** At most `size` callers at once; the others wait their turn, first come first served. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // Handed straight to the next waiter, or given back.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** The state of one pool (one {@link Db}) in this process. */
export class PoolState {
  /** Pool connections whose session has the `pmd_incoming` temporary table, created and committed (merge.ts). */
  readonly incoming = new WeakSet<pg.PoolClient>();
  /** Sink commits in flight (sink.ts). */
  readonly sinkCommits = new Slots(COMMITS_PER_POOL);
  /**
   * By interval, the tickers this process has seen committed to bar_symbols, and the last
   * whole-market file's. Nothing is ever taken off that table, so they need not be listed again: a
   * whole-market file then lists the few tickers new to this process instead of sending and
   * probing ~11,000 (measured: most of a file's statements' server CPU after the COPY). Changed
   * only by a committed draft (merge.ts, sink.ts): a rollback lists nothing.
   */
  readonly #listed = new Map<string, TickerSet>();
  #sinks = 0;

  /** The tickers of `interval` known to be in bar_symbols. */
  listed(interval: string): TickerSet {
    let set = this.#listed.get(interval);
    if (set === undefined) this.#listed.set(interval, (set = new TickerSet()));
    return set;
  }

  /** A number for the next sink's staging table, never given before on this pool. */
  nextSink(): number {
    return ++this.#sinks;
  }
}
