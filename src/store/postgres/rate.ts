// The request rate shared by every process on a store: GCRA on one row per set of jobs, granted
// in the database's clock and handed out in ours, through an offset measured as NTP does.
import type pg from 'pg';
import type { Db } from './db.js';
import { dbNow, takeSlots } from './sql/rate.js';

/**
 * The offset of the database's clock to ours, from round trips: the fastest one wins (its midpoint
 * is closest to when the database read its clock).
 */
export class DbClock {
  #bestRtt = Infinity;
  #offset = 0;

  /** One reading: the database's time `dbNow`, and the local midpoint and duration of its round trip. */
  measured(dbNow: number, localMid: number, rtt: number): void {
    if (rtt >= this.#bestRtt) return;
    this.#bestRtt = rtt;
    this.#offset = dbNow - localMid;
  }

  /** Database time minus local time, in ms (0 until measured). */
  get offset(): number {
    return this.#offset;
  }
}

/** One statement's row, with the local time around it: `mid` (ms) and `rtt`. */
async function timed<R extends object>(statement: () => Promise<R | undefined>): Promise<(R & { mid: number; rtt: number }) | undefined> {
  // Date.now(), the clock acquire() compares slots with (performance.timeOrigin + now() may
  // drift from it by milliseconds, differently in each process).
  const before = Date.now();
  const row = await statement();
  const after = Date.now();
  return row && { ...row, mid: (before + after) / 2, rtt: after - before };
}

/** Request slots under a cap shared by every process on the same set of jobs. */
export class SharedRate {
  readonly #db: Db;
  readonly #name: string;
  readonly #clock = new DbClock();

  constructor(db: Db, jobs: readonly string[]) {
    this.#db = db;
    this.#name = `rate:${[...jobs].sort().join(',')}`;
  }

  /** Measures the clock offset from a few round trips on `session`. Driver errors are thrown as they are. */
  async calibrate(session: pg.ClientBase): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const row = await timed(() => dbNow(session));
      if (row) this.#clock.measured(row.db_now_ms, row.mid, row.rtt);
    }
  }

  /**
   * `n` start times (local epoch ms, ascending) at least 1/rps apart from any slot granted to
   * anyone: each call moves `next_at` by n spacings from the later of itself and now.
   */
  async slots(rps: number, n: number): Promise<number[]> {
    // 10% margin: requests spaced exactly still arrive bunched where the server measures them.
    const spacingMs = 1100 / rps;
    const row = await this.#db.withPgClient((c) => timed(() => takeSlots(c, this.#name, n * spacingMs)));
    if (!row) return [];
    this.#clock.measured(row.db_now_ms, row.mid, row.rtt);
    const first = row.next_ms - n * spacingMs - this.#clock.offset;
    return Array.from({ length: n }, (_, i) => Math.ceil(first + i * spacingMs));
  }
}
