// queue.ts: one process's part in a job shared by several: claims that never overlap, a fair
// share, the claims of a dead (or hung) process taken over, and a process that lost its session
// registering again without taking back what another now owns (more in reconnect.test.ts).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkItem, WorkQueue } from '../../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { JOB, completed, dayFile, days, row, withTwoProcesses } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

describe('postgres queue: a job shared by several processes', () => {
  it('keeps a done file done when a listing offers it again with the same ETag, and redoes a republished one', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
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
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
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
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
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
    // A never beats: only its next call notices the loss (a beat would register it again sooner).
    await withTwoProcesses(await server.freshDatabase(), { a: { heartbeatMs: 3_600_000 } }, async (t) => {
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

      // A, if it were still running, registers again and takes back nothing that is now B's.
      const lost = t.a.processId;
      expect(await t.a.claim(1)).toEqual([]);
      expect(t.a.processId).not.toBe(lost);
      expect(await t.b.remaining()).toEqual({ pending: 0, claimedByOthers: 0 });
      const [status] = await t.storeA.status();
      expect(status?.processes.map((p) => [p.id, p.alive])).toEqual([
        [lost, false],
        [t.b.processId, true],
        [t.a.processId, true],
      ]);
    });
  });

  it('takes over the claims of a process killed with SIGKILL', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
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
    await withTwoProcesses(await server.freshDatabase(), { a: { heartbeatMs: 3_600_000 } }, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      expect(await t.a.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toEqual([]);
      await t.admin.query("UPDATE processes SET heartbeat_at = now() - interval '1 minute' WHERE id = $1", [t.a.processId]);
      expect(await t.b.claim(4)).toHaveLength(2);
    });
  });

  it('a process that beats keeps its claims', async () => {
    await withTwoProcesses(await server.freshDatabase(), { a: { heartbeatMs: 100 }, b: { leaseMs: 1000 } }, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      expect(await t.a.claim(4)).toHaveLength(2);
      expect(await t.b.claim(4)).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await t.b.claim(4)).toEqual([]);
    });
  });

  it('reports every job with done, claimed, failed and left files, and each process', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
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

  it('once its session is lost, does nothing under the lost id: every call waits for a new session, and fails past the store timeout', async () => {
    await withTwoProcesses(await server.freshDatabase(), { a: { heartbeatMs: 3_600_000, storeTimeoutMs: 0 } }, async (t) => {
      await t.a.offer(JOB, days(2).map((d) => dayFile(d)));
      const [item] = (await t.a.claim(1)) as [WorkItem];
      await t.admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int::oid AND objsubid = 2",
        [t.a.processId],
      );
      // A store timeout of 0: the first call after the loss fails instead of registering again.
      await expect.poll(() => t.a.remaining().then(() => 'ok', (e: { code?: string }) => e.code), { timeout: 5000 }).toBe('ERR_STORE');
      const calls: [string, () => Promise<unknown>][] = [
        ['offer', () => t.a.offer(JOB, [dayFile('2024-02-01')])],
        ['claim', () => t.a.claim(1)],
        ['fail', () => t.a.fail(item, { code: 'ERR_INTEGRITY', message: 'x' })],
        ['release', () => t.a.release([item])],
        ['complete', () => t.a.complete([completed(item.file, [row('AAA', item.file.day, 1)])])],
        ['counts', () => t.a.counts()],
        ['rateSlots', () => t.a.rateSlots!(10, 1)],
      ];
      for (const [name, call] of calls) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, name).toMatchObject({ code: 'ERR_STORE' });
        expect((error as Error).message, name).toMatch(
          /^PostgreSQL store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+: lost the session that holds this process's claims \(/,
        );
        expect((error as Error).message, name).not.toContain('test-secret');
      }
      // Nothing was written by the lost process: its claim is B's to take.
      expect((await t.b.claim(5)).map((i) => i.file.key)).toEqual(days(2).map((d) => dayFile(d).key));
      await t.a.close();
    });
  });

  it('on close, releases what it holds and records its end', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      expect(await t.a.claim(4)).toHaveLength(2);
      await t.a.close();
      await t.a.close(); // a second close does nothing
      expect(await t.b.remaining()).toEqual({ pending: 4, claimedByOthers: 0 });
      const [ended] = (await t.admin.query<{ ended: boolean }>('SELECT ended_at IS NOT NULL AS ended FROM processes WHERE id = $1', [t.a.processId])).rows;
      expect(ended).toEqual({ ended: true });
      // Its advisory lock went with its session.
      const locks = await t.admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int::oid", [t.a.processId]);
      expect(locks.rows).toEqual([]);
    });
  });

  it('releases only the files it is given, and only its own', async () => {
    await withTwoProcesses(await server.freshDatabase(), {}, async (t) => {
      await t.a.offer(JOB, days(4).map((d) => dayFile(d)));
      const mine = await t.a.claim(4);
      const theirs = await t.b.claim(4);
      expect(mine).toHaveLength(2);
      expect(theirs).toHaveLength(2);
      await t.a.release([...mine.slice(0, 1), ...theirs]);
      await t.a.release([]);
      expect(await t.a.counts()).toEqual({ files: 4, done: 0, failed: 0, claimed: 3, pending: 1 });
    });
  });
});
