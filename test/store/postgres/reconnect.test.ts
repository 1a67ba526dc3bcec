// A lost store is a pause, not a stop: a queue whose session is ended, or whose server restarts,
// registers again under a new id with its own lock, takes back the files it held that nobody took,
// and commits what was in flight once; past the store timeout it fails with ERR_STORE.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../../src/store/postgres/index.js';
import type { WorkItem, WorkQueue } from '../../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { JOB, completed, dayFile, days, row } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

/** One statement on a connection of its own (none is kept open across a server restart). */
async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client(url);
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

interface One {
  url: string;
  store: PostgresStore;
  queue: WorkQueue;
}

/** One process on a fresh database, on {@link JOB}; closed whatever happens. */
async function withOne(options: PostgresStoreOptions, test: (t: One) => Promise<void>): Promise<void> {
  const url = await server.freshDatabase();
  const store = await openPostgresStore(url, options);
  let queue: WorkQueue | undefined;
  try {
    await store.prepareJob(JOB, { clear: false });
    queue = await store.openQueue([JOB]);
    await test({ url, store, queue });
  } finally {
    await queue?.close();
    await store.close();
  }
}

/** Who owns each claimed file, by day. */
const owners = (url: string) =>
  sql<{ day: string; owner: number }>(url, "SELECT day, owner FROM job_files WHERE state = 'claimed' ORDER BY day");

/** Whether process `id` holds its advisory lock. */
const holdsLock = async (url: string, id: number) =>
  (await sql(url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::int::oid AND objsubid = 2", [id])).length === 1;

/** Ends the backend that holds process `id`'s advisory lock (its session), as an operator would. */
const terminateSession = (url: string, id: number) =>
  sql(url, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int::oid AND objsubid = 2", [id]);

describe('postgres queue: a lost session is replaced', () => {
  it('a session ended with pg_terminate_backend: later calls succeed under a new id with its lock, and its unfinished files move to it', async () => {
    // No heartbeat during the test: the next call is what notices the loss and registers again.
    await withOne({ heartbeatMs: 3_600_000 }, async ({ url, queue }) => {
      await queue.offer(JOB, days(3).map((d) => dayFile(d)));
      const held = await queue.claim(3);
      expect(held).toHaveLength(3);
      const first = queue.processId as number;
      await terminateSession(url, first);
      await expect.poll(() => holdsLock(url, first), { timeout: 10_000 }).toBe(false);

      // The first call after the loss registers again and goes on.
      await expect.poll(async () => (await queue.remaining(), queue.processId), { timeout: 10_000 }).not.toBe(first);
      const second = queue.processId as number;
      expect(await holdsLock(url, second)).toBe(true);
      expect(await owners(url)).toEqual(days(3).map((day) => ({ day, owner: second })));
      const [ended] = await sql<{ ended: boolean }>(url, 'SELECT ended_at IS NOT NULL AS ended FROM processes WHERE id = $1', [first]);
      expect(ended).toEqual({ ended: true });

      const [a, b, c] = held as [WorkItem, WorkItem, WorkItem];
      await queue.complete([completed(a.file, [row('AAA', a.file.day, 1)])]);
      await queue.fail(b, { code: 'ERR_INTEGRITY', message: 'bad' });
      expect(await queue.counts()).toEqual({ files: 3, done: 1, failed: 1, claimed: 1, pending: 0 });
      expect(await sql(url, "SELECT done_by FROM job_files WHERE state = 'done'")).toEqual([{ done_by: second }]);
      // What it still holds is not handed out again, to it or to anyone.
      expect(await queue.claim(3)).toEqual([]);
      await queue.release([c]);
      expect((await queue.claim(3)).map((i) => i.file.key)).toEqual([c.file.key]);
    });
  });

  it('takes back no file another process took over while it was away', async () => {
    const url = await server.freshDatabase();
    const [storeA, storeB] = await Promise.all([openPostgresStore(url, { heartbeatMs: 3_600_000 }), openPostgresStore(url)]);
    await storeA.prepareJob(JOB, { clear: false });
    const a = await storeA.openQueue([JOB]);
    const b = await storeB.openQueue([JOB]);
    try {
      await a.offer(JOB, days(4).map((d) => dayFile(d)));
      const mine = await a.claim(4);
      expect(mine).toHaveLength(2);
      expect(await b.claim(4)).toHaveLength(2);
      const first = a.processId as number;
      await terminateSession(url, first);
      // B takes over A's files before A is back.
      await expect.poll(async () => (await b.claim(4)).length, { timeout: 10_000 }).toBe(2);
      const [x] = mine as [WorkItem];
      await a.fail(x, { code: 'ERR_INTEGRITY', message: 'late' }); // now B's: nothing happens
      expect(a.processId).not.toBe(first);
      expect(await b.claim(4)).toEqual([]);
      expect((await owners(url)).map((o) => o.owner)).toEqual([b.processId, b.processId, b.processId, b.processId]);
      expect(await a.claim(4)).toEqual([]);
      expect(await a.remaining()).toEqual({ pending: 0, claimedByOthers: 4 });
      // A file it had verified is still committed once, and B's later commit of it is skipped.
      await a.complete([completed(x.file, [row('AAA', x.file.day, 1)])]);
      await b.complete([completed(x.file, [row('AAA', x.file.day, 1)])]);
      expect(await sql(url, "SELECT key, done_by FROM job_files WHERE state = 'done'")).toEqual([{ key: x.file.key, done_by: a.processId }]);
    } finally {
      for (const q of [a, b]) await q.close();
      for (const s of [storeA, storeB]) await s.close();
    }
  });
});

describe('postgres queue: the server restarts', () => {
  it('idle across a stop and start: the next claim and complete succeed, under a new id that holds what the old one held', async () => {
    await withOne({ heartbeatMs: 200 }, async ({ url, queue }) => {
      await queue.offer(JOB, days(3).map((d) => dayFile(d)));
      const [held] = (await queue.claim(1)) as [WorkItem];
      const first = queue.processId as number;
      await server.stop();
      await server.start();
      // The heartbeat notices, and registers again on its own.
      await expect.poll(() => queue.processId, { timeout: 20_000 }).not.toBe(first);
      await expect.poll(() => holdsLock(url, queue.processId as number), { timeout: 10_000 }).toBe(true);
      expect(await owners(url)).toEqual([{ day: held.file.day, owner: queue.processId }]);
      expect((await queue.claim(2)).map((i) => i.file.day)).toEqual(days(2, '2024-01-02'));
      await queue.complete([completed(held.file, [row('AAA', held.file.day, 7)])]);
      expect(await queue.counts()).toMatchObject({ done: 1, claimed: 2 });
    });
  });

  it('a complete() in flight when the server stops is committed exactly once after it starts again', async () => {
    await withOne({}, async ({ url, store, queue }) => {
      const [d1] = days(1) as [string];
      await queue.offer(JOB, [dayFile(d1)]);
      const [item] = (await queue.claim(1)) as [WorkItem];
      const first = queue.processId as number;
      // Hold a lock complete() needs after it has written the bars, so it is mid-transaction when cut.
      const admin = new pg.Client(url);
      admin.on('error', () => {});
      await admin.connect();
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE ingested_days IN ACCESS EXCLUSIVE MODE');
      let settled = false;
      const pending = queue.complete([completed(item.file, [row('AAA', d1, 1), row('BBB', d1, 2)])]).finally(() => (settled = true));
      const waiting = async (): Promise<number[]> =>
        (await sql<{ pid: number }>(url, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH ingested AS%'")).map((r) => r.pid);
      await expect.poll(waiting, { timeout: 10_000 }).toHaveLength(1);
      const [pid] = await waiting();
      // Its backend goes first, so the cut transaction cannot commit in the shutdown.
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await server.stop();
      await admin.end().catch(() => {});
      expect(settled).toBe(false);
      await server.start();
      await pending;

      expect(queue.processId).not.toBe(first);
      expect(await sql(url, "SELECT key, done_by FROM job_files WHERE state = 'done'")).toEqual([{ key: item.file.key, done_by: queue.processId }]);
      expect(await sql(url, 'SELECT SUM(files_done)::int AS n FROM processes')).toEqual([{ n: 1 }]);
      expect(await store.readBars('AAA', '1d', d1, d1)).toEqual([expect.objectContaining({ close: 1 })]);
      expect(await store.readBars('BBB', '1d', d1, d1)).toEqual([expect.objectContaining({ close: 2 })]);
      expect(await queue.counts()).toEqual({ files: 1, done: 1, failed: 0, claimed: 0, pending: 0 });
    });
  });

  it('past the store timeout, with the server left stopped, fails with ERR_STORE naming the masked URL', async () => {
    await withOne({ storeTimeoutMs: 1500, heartbeatMs: 3_600_000 }, async ({ queue }) => {
      await queue.offer(JOB, days(2).map((d) => dayFile(d)));
      await queue.claim(1);
      await server.stop();
      try {
        const error = await queue.claim(1).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({ code: 'ERR_STORE', name: 'StoreError' });
        expect((error as Error).message).toMatch(/^PostgreSQL store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+: still unreachable after \d+ s \(the store timeout is 1\.5 s\): /);
        expect((error as Error).message).not.toContain('test-secret');
        // It stays failed: the store was away too long for its claims to be trusted.
        await expect(queue.remaining()).rejects.toMatchObject({ code: 'ERR_STORE' });
      } finally {
        await server.start();
      }
    });
  });
});
