// rate.ts: the request rate shared by every process on a store, and the database clock offset
// that turns the database's slot times into ours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquire, createRateLimit, startSlotFeed, type RateLimit } from '../../../src/s3/rate-limit.js';
import { Db } from '../../../src/store/postgres/db.js';
import { DbClock, SharedRate } from '../../../src/store/postgres/rate.js';
import { ensureSchema } from '../../../src/store/postgres/schema.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { withTwoProcesses } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

describe('DbClock', () => {
  it('is 0 until measured, then keeps the reading of the fastest round trip', () => {
    const clock = new DbClock();
    expect(clock.offset).toBe(0);
    clock.measured(1_000_050, 1_000_000, 10);
    expect(clock.offset).toBe(50);
    clock.measured(2_000_500, 2_000_000, 12); // slower: its midpoint is further from the reading
    expect(clock.offset).toBe(50);
    clock.measured(3_000_500, 3_000_000, 10); // as fast, not faster
    expect(clock.offset).toBe(50);
    clock.measured(4_000_000 - 20, 4_000_000, 2);
    expect(clock.offset).toBe(-20);
  });
});

describe('SharedRate on one process', () => {
  async function withRate(jobs: string[], test: (rate: SharedRate, db: Db) => Promise<void>): Promise<void> {
    const db = new Db(await server.freshDatabase(), 2);
    const session = await db.session();
    try {
      await ensureSchema(db);
      const rate = new SharedRate(db, jobs);
      await rate.calibrate(session);
      await test(rate, db);
    } finally {
      await session.end();
      await db.end();
    }
  }

  it('grants n ascending slots 1.1/rps apart, the first about now (in local time), each call after the last', async () => {
    await withRate(['b', 'a'], async (rate) => {
      const before = Date.now();
      const first = await rate.slots(100, 5);
      const after = Date.now();
      expect(first).toHaveLength(5);
      // The database's clock mapped to ours: the first slot of a fresh row is "now" there.
      expect(first[0]).toBeGreaterThanOrEqual(before - 50);
      expect(first[0]).toBeLessThanOrEqual(after + 50);
      const gaps = first.slice(1).map((s, i) => s - (first[i] ?? 0));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(10);
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(12);
      const second = await rate.slots(100, 3);
      expect(second[0]).toBeGreaterThan(first[4] ?? 0);
    });
  });

  it('keeps one row per set of jobs, whatever their order', async () => {
    await withRate(['b', 'a'], async (rate, db) => {
      const [mine] = await rate.slots(10, 1);
      const [theirs] = await new SharedRate(db, ['a', 'b']).slots(10, 1);
      // The same row: the second slot comes 110 ms after the first (less what the clock offset
      // moved between the two calls).
      expect(await db.query('SELECT name FROM rate_limits')).toEqual([{ name: 'rate:a,b' }]);
      expect((theirs ?? 0) - (mine ?? 0)).toBeGreaterThanOrEqual(100);
      await new SharedRate(db, ['c']).slots(10, 1);
      expect(await db.query('SELECT name FROM rate_limits ORDER BY name')).toEqual([{ name: 'rate:a,b' }, { name: 'rate:c' }]);
    });
  });

  it('maps a failure to ERR_STORE', async () => {
    await withRate(['a'], async (rate, db) => {
      await db.query('DROP TABLE rate_limits');
      await expect(rate.slots(10, 1)).rejects.toMatchObject({
        code: 'ERR_STORE',
        message: expect.stringContaining('relation "rate_limits" does not exist') as unknown,
      });
    });
  });
});

describe('SharedRate on two processes', () => {
  it('grants rate slots to two processes at least 1/rps apart', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
      const rps = 50;
      const slots = (
        await Promise.all(
          [t.a, t.b].map(async (q) => {
            const mine: number[] = [];
            for (let i = 0; i < 6; i++) mine.push(...(await q.rateSlots!(rps, 4)));
            return mine;
          }),
        )
      )
        .flat()
        .sort((x, y) => x - y);
      expect(slots).toHaveLength(48);
      const gaps = slots.slice(1).map((s, i) => s - (slots[i] ?? 0));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000 / rps);
    });
  });

  it("feeds two processes' rate limits from the store: one cap in every second", async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
      const rps = 20;
      const limits = [createRateLimit(rps, { shared: true }), createRateLimit(rps, { shared: true })];
      const feeds = [t.a, t.b].map((q, i) => startSlotFeed(limits[i] as RateLimit, (n) => q.rateSlots!(rps, n)));
      try {
        const times: number[] = [];
        await Promise.all(
          limits.flatMap((l) =>
            Array.from({ length: 3 }, async () => {
              for (let i = 0; i < 6; i++) {
                await acquire(l);
                times.push(Date.now());
              }
            }),
          ),
        );
        expect(times).toHaveLength(36);
        const sorted = times.sort((x, y) => x - y);
        const most = Math.max(...sorted.map((s) => sorted.filter((x) => x >= s && x < s + 1000).length));
        expect(most).toBeLessThanOrEqual(rps);
      } finally {
        for (const f of feeds) f.stop();
      }
    });
  });
});
