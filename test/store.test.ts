// The Store contract, against real databases: the same behaviour tests for each implementation,
// then what only a shared (PostgreSQL) store does: claims, takeover, a shared rate, status.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DayFile, ParsedRow } from '../src/types.js';
import { acquire, createRateLimit, startSlotFeed, type RateLimit } from '../src/s3/rate-limit.js';
import { MIGRATIONS, SCHEMA_VERSION, openPostgresStore } from '../src/store/postgres/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { CompletedFile, JobSpec, Store, WorkItem, WorkQueue } from '../src/store/types.js';
import { startPostgres, type TestPostgres } from './fixtures/postgres.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

const JOB: JobSpec = { job: 'stocks/1d/AAA,BBB', dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', tickers: ['AAA', 'BBB'] };

function dayFile(day: string, etag = `etag-${day}`): DayFile {
  return { key: `us_stocks_sip/day_aggs_v1/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 1000, etag, lastModified: undefined };
}

function days(n: number, from = '2024-01-01'): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

function row(ticker: string, day: string, close: number, minute = 0): ParsedRow {
  const time = Date.parse(`${day}T05:00:00Z`) + minute * 60_000;
  return { ticker, time, open: close - 1, high: close + 1, low: close - 2, close, volume: 1000.5, transactions: 12 };
}

function completed(file: DayFile, rows: ParsedRow[], job = JOB): CompletedFile {
  return { job, file, rows };
}

/** The implementations under test, each on a fresh, empty store. */
const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => openSqliteStore(await mkdtemp(join(tmpdir(), 'pmd-store-')))],
  ['postgres', async () => openPostgresStore(await server.freshDatabase())],
];

async function withStore(open: () => Promise<Store>, test: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await test(store);
  } finally {
    await store.close();
  }
}

describe.each(stores)('%s store', (_name, open) => {
  it('merges a batch, replaces a re-ingested day and never duplicates a row', async () => {
    await withStore(open, async (store) => {
      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      const [d1, d2] = days(2) as [string, string];
      const f1 = dayFile(d1);
      const f2 = dayFile(d2);
      await queue.offer(JOB, [f1, f2]);
      const claimed = await queue.claim(10);
      expect(claimed.map((c) => c.file.key)).toEqual([f1.key, f2.key]);
      // BBB has no row on d2 (a halt): its day is still recorded, with 0 rows.
      await queue.complete([completed(f1, [row('AAA', d1, 10), row('BBB', d1, 20)]), completed(f2, [row('AAA', d2, 11)])]);
      expect(await queue.counts()).toEqual({ files: 2, done: 2, claimed: 0, failed: 0, pending: 0 });
      expect(await store.readBars('AAA', '1d', d1, d2)).toEqual([
        { time: row('AAA', d1, 10).time, open: 9, high: 11, low: 8, close: 10, volume: 1000.5, transactions: 12 },
        { time: row('AAA', d2, 11).time, open: 10, high: 12, low: 9, close: 11, volume: 1000.5, transactions: 12 },
      ]);
      expect(await store.ingestedDays('BBB', '1d', d1, d2)).toEqual(new Map([[d1, f1.etag], [d2, f2.etag]]));

      // Republished d1: AAA's row changed, BBB's dropped. The day is replaced, not appended to.
      const f1b = dayFile(d1, 'etag-new');
      await queue.offer(JOB, [f1b]);
      expect((await queue.claim(10)).map((c) => c.file.etag)).toEqual(['etag-new']);
      await queue.complete([completed(f1b, [row('AAA', d1, 15), { ...row('AAA', d1, 16), transactions: null }])]);
      const aaa = await store.readBars('AAA', '1d', d1, d1);
      expect(aaa).toHaveLength(1);
      expect(aaa[0]).toMatchObject({ close: 16, transactions: null });
      expect(await store.readBars('BBB', '1d', d1, d1)).toEqual([]);
      expect((await store.doneKeys(JOB.job)).get(f1.key)).toEqual({ key: f1.key, size: 1000, etag: 'etag-new', lastModified: undefined });
      expect(await store.barRange(['AAA', 'BBB'], '1d', d1, d2)).toEqual({ first: row('AAA', d1, 0).time, last: row('AAA', d2, 0).time });
      expect(await store.barRange(['ZZZ'], '1d', d1, d2)).toBeUndefined();
      expect(await store.getJob(JOB.job)).toMatchObject({ job: JOB.job, symbols: ['AAA', 'BBB'], doneKeys: 2, bytes: 2000 });
      await queue.close();
    });
  });

  it('hands out a failed file again when a later listing offers it', async () => {
    await withStore(open, async (store) => {
      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      const [d1, d2] = days(2) as [string, string];
      await queue.offer(JOB, [dayFile(d1), dayFile(d2)]);
      const [a, b] = (await queue.claim(2)) as [WorkItem, WorkItem];
      await queue.fail(a, { code: 'ERR_INTEGRITY', message: 'MD5 mismatch' });
      await queue.complete([completed(b.file, [row('AAA', d2, 1)])]);
      expect(await queue.counts()).toEqual({ files: 2, done: 1, claimed: 0, failed: 1, pending: 0 });
      expect(await queue.remaining()).toEqual({ pending: 0, claimedByOthers: 0 });
      await queue.offer(JOB, [dayFile(d1)]);
      expect(await queue.remaining()).toEqual({ pending: 1, claimedByOthers: 0 });
      expect((await queue.claim(5)).map((c) => c.file.day)).toEqual([d1]);
      await queue.close();
    });
  });

  it('answers coverage as the union of recorded windows, and clears a job', async () => {
    await withStore(open, async (store) => {
      await store.addCoverage('AAA', '1d', '2024-01-01', '2024-01-10');
      await store.addCoverage('AAA', '1d', '2024-01-11', '2024-01-20');
      await store.addCoverage('AAA', '1d', '2024-01-11', '2024-01-20');
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-18')).toBe(true);
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-21')).toBe(false);
      expect(await store.isCovered('AAA', '1m', '2024-01-05', '2024-01-06')).toBe(false);

      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      await queue.offer(JOB, days(3).map((d) => dayFile(d)));
      const items = await queue.claim(3);
      await queue.complete(items.map((i) => completed(i.file, [row('AAA', i.file.day, 1)])));
      await queue.close();
      expect(await store.listJobs()).toHaveLength(1);
      expect(await store.clearJob(JOB.job, JOB.tickers, '1d')).toBe(3);
      expect(await store.getJob(JOB.job)).toBeUndefined();
      expect((await store.doneKeys(JOB.job)).size).toBe(0);
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-06')).toBe(false);
      expect((await store.ingestedDays('AAA', '1d', '2024-01-01', '2024-12-31')).size).toBe(0);
    });
  });
});

describe('postgres store: schema', () => {
  it('is created once by three processes opening a fresh database at once', async () => {
    const url = await server.freshDatabase();
    const opened = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
    const client = new pg.Client(url);
    await client.connect();
    try {
      const meta = await client.query("SELECT value FROM pmd_meta WHERE key = 'schema_version'");
      expect(meta.rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
      const tables = await client.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(tables.rows.map((r) => r.t)).toEqual(['bars', 'coverage', 'ingested_days', 'job_files', 'jobs', 'pmd_meta', 'processes', 'rate_limits']);
    } finally {
      await client.end();
      await Promise.all(opened.map((s) => s.close()));
    }
  });

  it('has a migration for every version up to the current one', () => {
    expect([...MIGRATIONS.keys()]).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a store of a newer (unknown) schema version with one clear line', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    const client = new pg.Client(url);
    await client.connect();
    await client.query('UPDATE pmd_meta SET value = $1 WHERE key = $2', [String(SCHEMA_VERSION + 1), 'schema_version']);
    await client.end();
    const error = await openPostgresStore(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_STORE', name: 'StoreError' });
    const message = (error as Error).message;
    expect(message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(message).toContain(`reads version ${SCHEMA_VERSION}`);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('test-secret');
  });

  it('names the masked URL when it cannot connect', async () => {
    const closed = new URL(server.url);
    closed.port = '1'; // nothing listens there
    closed.password = 'hunter2';
    const error = await openPostgresStore(closed.toString()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_STORE' });
    expect((error as Error).message).toContain('Cannot connect to the PostgreSQL store postgres://postgres:***@127.0.0.1:1/');
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('postgres store: a job shared by several processes', () => {
  /** Two "processes": two stores on one database, each with its own queue. */
  async function two(opts: { a?: Parameters<typeof openPostgresStore>[1]; b?: Parameters<typeof openPostgresStore>[1] } = {}) {
    const url = await server.freshDatabase();
    const storeA = await openPostgresStore(url, opts.a);
    const storeB = await openPostgresStore(url, opts.b);
    await storeA.prepareJob(JOB, { clear: false });
    const a = await storeA.openQueue([JOB]);
    const b = await storeB.openQueue([JOB]);
    const admin = new pg.Client(url);
    await admin.connect();
    return {
      url,
      storeA,
      storeB,
      a,
      b,
      admin,
      async close() {
        await admin.end();
        for (const q of [a, b]) await q.close();
        for (const s of [storeA, storeB]) await s.close();
      },
    };
  }

  async function withTwo(opts: Parameters<typeof two>[0], test: (t: Awaited<ReturnType<typeof two>>) => Promise<void>): Promise<void> {
    const t = await two(opts);
    try {
      await test(t);
    } finally {
      await t.close();
    }
  }

  it('keeps a done file done when a listing offers it again with the same ETag, and redoes a republished one', async () => {
    await withTwo({}, async (t) => {
      const [d1, d2] = days(2) as [string, string];
      await t.a.offer(JOB, [dayFile(d1), dayFile(d2)]);
      const items = await t.a.claim(2);
      await t.a.complete(items.map((i) => completed(i.file, [row('AAA', i.file.day, 1)])));
      // Another process's listing of the same files, one of them republished since.
      await t.b.offer(JOB, [dayFile(d1), dayFile(d2, 'etag-republished')]);
      expect(await t.b.counts()).toEqual({ files: 2, done: 1, claimed: 0, failed: 0, pending: 1 });
      expect((await t.b.claim(5)).map((i) => [i.file.day, i.file.etag])).toEqual([[d2, 'etag-republished']]);
      // A file claimed by a live process stays its own when another listing offers it.
      await t.a.offer(JOB, [dayFile(d2, 'etag-again')]);
      expect(await t.a.claim(5)).toEqual([]);
      expect(await t.a.remaining()).toEqual({ pending: 0, claimedByOthers: 1 });
    });
  });

  it('never hands one file to two processes claiming at once', async () => {
    await withTwo({}, async (t) => {
      const files = days(60).map((d) => dayFile(d));
      await Promise.all([t.a.offer(JOB, files), t.b.offer(JOB, files)]);
      const drain = async (q: WorkQueue) => {
        const got: string[] = [];
        for (;;) {
          const items = await q.claim(3);
          if (items.length === 0) return got;
          got.push(...items.map((i) => i.file.key));
        }
      };
      const [ga, gb] = await Promise.all([drain(t.a), drain(t.b)]);
      expect(ga.length).toBeGreaterThan(0);
      expect(gb.length).toBeGreaterThan(0);
      expect([...ga, ...gb].sort()).toEqual(files.map((f) => f.key).sort());
      expect(await t.a.remaining()).toEqual({ pending: 0, claimedByOthers: gb.length });
    });
  });

  it('hands each live process a fair share of what is left, and more as its files complete', async () => {
    await withTwo({}, async (t) => {
      await t.a.offer(JOB, days(5).map((d) => dayFile(d)));
      // 5 files over 2 live processes: at most 3 each, whatever they ask for.
      const first = await t.a.claim(20);
      expect(first.map((i) => i.file.day)).toEqual(days(3));
      expect((await t.b.claim(20)).map((i) => i.file.day)).toEqual(days(2, '2024-01-04'));
      await t.a.complete(first.slice(0, 1).map((i) => completed(i.file, [row('AAA', i.file.day, 1)])));
      expect(await t.a.claim(20)).toEqual([]); // nothing pending
      // A process that ends gives its share to those left.
      await t.b.close();
      expect((await t.a.claim(20)).map((i) => i.file.day)).toEqual(days(2, '2024-01-04'));
    });
  });

  it("takes over a killed process's claims as soon as its session drops", async () => {
    await withTwo({}, async (t) => {
      await t.a.offer(JOB, days(10).map((d) => dayFile(d)));
      const held = await t.a.claim(10);
      // Two live processes: each gets half.
      expect(held).toHaveLength(5);
      expect((await t.b.claim(10)).map((i) => i.file.day)).toEqual(days(5, '2024-01-06'));
      expect(await t.b.claim(10)).toEqual([]);
      expect(await t.b.remaining()).toEqual({ pending: 0, claimedByOthers: 5 });

      // kill -9 of A as the server sees it: its session ends, PostgreSQL drops its lock.
      const pids = await t.admin.query<{ pid: number }>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int::oid AND objsubid = 2",
        [t.a.processId],
      );
      expect(pids.rows).toHaveLength(1);
      await t.admin.query('SELECT pg_terminate_backend($1)', [pids.rows[0]?.pid]);
      await expect.poll(async () => (await t.b.claim(10)).map((i) => i.file.key), { timeout: 5000 }).toEqual(held.map((i) => i.file.key));

      // A, if it were still running, may not finish work that is now B's.
      await expect.poll(() => t.a.claim(1).then(() => 'ok', (e: { code?: string }) => e.code), { timeout: 5000 }).toBe('ERR_STORE');
      const [status] = await t.storeA.status();
      expect(status?.processes.map((p) => [p.id, p.alive])).toEqual([
        [t.a.processId, false],
        [t.b.processId, true],
      ]);
    });
  });

  it('takes over the claims of a process killed with SIGKILL', async () => {
    await withTwo({}, async (t) => {
      await t.a.offer(JOB, days(8).map((d) => dayFile(d)));
      await t.a.close(); // B and the child share the job
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/store-child.ts', t.url, JSON.stringify(JOB), '4'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
        const held = JSON.parse(line) as { processId: number; keys: string[] };
        expect(held.keys).toHaveLength(4);
        expect(await t.b.remaining()).toEqual({ pending: 4, claimedByOthers: 4 });
        child.kill('SIGKILL');
        // The kernel closes the dead process's socket; PostgreSQL ends its session and drops its lock.
        const takenOver: string[] = [];
        await expect
          .poll(async () => (takenOver.push(...(await t.b.claim(10)).map((i) => i.file.key)), takenOver.length), { timeout: 10_000 })
          .toBe(8);
        expect(takenOver).toEqual(expect.arrayContaining(held.keys));
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  it('takes over the claims of a process whose heartbeat is older than the lease (a hung process)', async () => {
    // A never beats; its session (and lock) stay open, as in a process stuck in a loop.
    await withTwo({ a: { heartbeatMs: 3_600_000 } }, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      expect(await t.a.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toEqual([]);
      await t.admin.query("UPDATE processes SET heartbeat_at = now() - interval '1 minute' WHERE id = $1", [t.a.processId]);
      expect(await t.b.claim(4)).toHaveLength(2);
    });
  });

  it('a process that beats keeps its claims', async () => {
    await withTwo({ a: { heartbeatMs: 100 }, b: { leaseMs: 1000 } }, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      expect(await t.a.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await t.b.claim(4)).toEqual([]);
    });
  });

  it('grants rate slots to two processes at least 1/rps apart', async () => {
    await withTwo({}, async (t) => {
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
    await withTwo({}, async (t) => {
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

  it('reports every job with done, claimed, failed and left files, and each process', async () => {
    await withTwo({}, async (t) => {
      await t.a.offer(JOB, days(10).map((d) => dayFile(d)));
      const mine = await t.a.claim(3);
      await t.a.complete(mine.slice(0, 2).map((i) => completed(i.file, [row('AAA', i.file.day, 1)])));
      await t.a.fail(mine[2] as WorkItem, { code: 'ERR_INTEGRITY', message: 'bad' });
      await t.b.claim(2);
      const [status] = await t.storeA.status();
      expect(status).toMatchObject({ job: JOB.job, files: 10, done: 2, failed: 1, claimed: 2, pending: 5 });
      expect(status?.processes.map((p) => ({ id: p.id, alive: p.alive, filesDone: p.filesDone, bytes: p.bytes, pid: p.pid }))).toEqual([
        { id: t.a.processId, alive: true, filesDone: 2, bytes: 2000, pid: process.pid },
        { id: t.b.processId, alive: true, filesDone: 0, bytes: 0, pid: process.pid },
      ]);
      expect(status?.etaMs).toBeGreaterThan(0);
      await t.a.close();
      const [after] = await t.storeA.status();
      expect(after?.processes[0]).toMatchObject({ alive: false });
      expect(after?.processes[0]?.endedAt).toEqual(expect.any(String));
      expect(await t.b.counts()).toEqual({ files: 10, done: 2, failed: 1, claimed: 2, pending: 5 });
    });
  });

  it('fails with ERR_STORE when the server goes down mid-complete, and marks nothing done without its bars', async () => {
    const t = await two();
    const [d1] = days(1) as [string];
    await t.a.offer(JOB, [dayFile(d1)]);
    const [item] = (await t.a.claim(1)) as [WorkItem];
    // Hold a lock complete() needs after it has written the bars, so the server stops mid-transaction.
    await t.admin.query('BEGIN');
    await t.admin.query('LOCK TABLE ingested_days IN ACCESS EXCLUSIVE MODE');
    const pending = t.a.complete([completed(item.file, [row('AAA', d1, 1)])]).then(
      () => undefined,
      (e: unknown) => e,
    );
    // (pg_stat_activity is a snapshot per transaction, and the admin is inside one.)
    const waiting = async (): Promise<number[]> => {
      const [, r] = (await t.admin.query(
        "SELECT pg_stat_clear_snapshot(); SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH ingested AS%'",
      )) as unknown as [pg.QueryResult, pg.QueryResult<{ pid: number }>];
      return r.rows.map((row) => row.pid);
    };
    await expect.poll(waiting, { timeout: 5000 }).toHaveLength(1);
    const [pid] = await waiting();
    t.admin.on('error', () => {});
    // The session in the middle of complete() goes first: in a plain shutdown the admin's backend
    // may end first, releasing the lock, and the one statement left could still commit.
    await t.admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await server.stop();
    const error = await pending;
    await server.start();
    expect(error).toMatchObject({ code: 'ERR_STORE' });
    expect((error as Error).message).toContain('postgres://postgres:***@127.0.0.1:');
    expect((error as Error).message).not.toContain('test-secret');

    const store = await openPostgresStore(t.url);
    try {
      expect((await store.doneKeys(JOB.job)).size).toBe(0);
      expect(await store.readBars('AAA', '1d', d1, d1)).toEqual([]);
    } finally {
      await store.close();
      for (const q of [t.a, t.b]) await q.close();
      for (const s of [t.storeA, t.storeB]) await s.close();
    }
  });
});
