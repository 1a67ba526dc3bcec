// Liveness (the SQL function schema.ts creates, and sql/live.ts): a process is alive while its
// session holds its advisory lock, its heartbeat is younger than the lease and it has not ended;
// the counts and the process list follow from that.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../../../src/store/postgres/db.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { LIVE_FUNCTION, ensureSchema } from '../../../src/store/postgres/schema.js';
import { jobCounts, jobProcesses } from '../../../src/store/postgres/sql/live.js';
import { LOCK_NAMESPACE } from '../../../src/store/postgres/sql/locks.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

describe('liveness', () => {
  it('counts a file claimed by a dead owner as pending, and tells the live processes from the dead', async () => {
    const db = new Db(await server.freshDatabase(), 2);
    const session = await db.session();
    try {
      await ensureSchema(db);
      const register = async (sql: string): Promise<number> => {
        const [p] = await db.query<{ id: number }>(sql);
        return p?.id ?? 0;
      };
      const live = await register("INSERT INTO processes (jobs, host, pid) VALUES ('{j}', 'h', 1) RETURNING id");
      const noLock = await register("INSERT INTO processes (jobs, host, pid) VALUES ('{j}', 'h', 2) RETURNING id");
      const hung = await register(
        "INSERT INTO processes (jobs, host, pid, heartbeat_at) VALUES ('{j}', 'h', 3, now() - interval '1 minute') RETURNING id",
      );
      const ended = await register("INSERT INTO processes (jobs, host, pid, ended_at) VALUES ('{j}', 'h', 4, now()) RETURNING id");
      const elsewhere = await register("INSERT INTO processes (jobs, host, pid) VALUES ('{other}', 'h', 5) RETURNING id");
      // One session holds the locks of all but `noLock`, as their own sessions would.
      for (const id of [live, hung, ended, elsewhere]) await session.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, id]);
      await db.query(
        `INSERT INTO job_files (job, key, day, size, etag, state, owner) VALUES
           ('j', 'a', '2024-01-01', 1, 'e', 'claimed', $1), ('j', 'b', '2024-01-01', 1, 'e', 'claimed', $2),
           ('j', 'c', '2024-01-01', 1, 'e', 'claimed', $3), ('j', 'd', '2024-01-01', 1, 'e', 'claimed', $4),
           ('j', 'e', '2024-01-01', 1, 'e', 'done', NULL), ('j', 'f', '2024-01-01', 1, 'e', 'failed', NULL),
           ('j', 'g', '2024-01-01', 1, 'e', 'pending', NULL), ('other', 'h', '2024-01-01', 1, 'e', 'pending', NULL)`,
        [live, noLock, hung, ended],
      );

      expect(await jobCounts(db, ['j'], 30_000)).toEqual({ files: 7, done: 1, failed: 1, claimed: 1, pending: 4 });
      expect(await jobCounts(db, ['j', 'other'], 30_000)).toMatchObject({ files: 8, pending: 5 });
      expect(await jobCounts(db, ['none'], 30_000)).toEqual({ files: 0, done: 0, failed: 0, claimed: 0, pending: 0 });
      const processes = await jobProcesses(db, ['j'], 30_000);
      expect(processes.map((p) => [p.id, p.alive])).toEqual([
        [live, true],
        [noLock, false],
        [hung, false],
        [ended, false],
      ]);
      expect(processes[3]?.endedAt).toEqual(expect.any(String));
      // A lease longer than the hung process's silence makes it live again.
      expect((await jobProcesses(db, ['j'], 120_000)).map((p) => p.alive)).toEqual([true, false, true, false]);
      expect(await jobCounts(db, ['j'], 120_000)).toMatchObject({ claimed: 2, pending: 3 });
    } finally {
      await session.end();
      await db.end();
    }
  });

  it('is a SQL function of the store that answers the live and the dead as the server judges them: a session that ended or was terminated drops its lock', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    const admin = new pg.Client(url);
    await admin.connect();
    /** A process as queue.ts registers one: its row, and its lock held by a session of its own. */
    const registered = async (): Promise<{ id: number; session: pg.Client; backend: number }> => {
      const session = new pg.Client(url);
      await session.connect();
      const [row] = (await session.query<{ id: number; backend: number }>("INSERT INTO processes (jobs, host, pid) VALUES ('{j}', 'h', 1) RETURNING id, pg_backend_pid() AS backend")).rows;
      if (!row) throw new Error('no process row');
      await session.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, row.id]);
      return { id: row.id, session, backend: row.backend };
    };
    const live = async (leaseMs = 30_000): Promise<number[]> =>
      (await admin.query<{ id: number }>('SELECT id FROM pmd_live_processes($1) ORDER BY id', [leaseMs])).rows.map((r) => r.id);
    /** The server drops a lock once the backend has gone, a moment after the client saw the end. */
    const settled = async (expected: number[]): Promise<number[]> => {
      let seen = await live();
      for (let i = 0; i < 100 && JSON.stringify(seen) !== JSON.stringify(expected); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await live();
      }
      return seen;
    };
    const [a, ended, killed] = [await registered(), await registered(), await registered()];
    killed.session.on('error', () => {});
    try {
      expect(await live()).toEqual([a.id, ended.id, killed.id]);
      await ended.session.end();
      // Terminated by the server, as an administrator (or a crash) would: nobody ends its row.
      await admin.query('SELECT pg_terminate_backend($1, 5000)', [killed.backend]);
      expect(await settled([a.id])).toEqual([a.id]);
      // The rows are untouched: only the server's locks told the dead apart.
      expect((await admin.query('SELECT COUNT(*)::int AS n FROM processes WHERE ended_at IS NULL')).rows).toEqual([{ n: 3 }]);
      // The lease: a heartbeat older than it is dead even while the lock is held.
      await admin.query("UPDATE processes SET heartbeat_at = now() - interval '1 minute' WHERE id = $1", [a.id]);
      expect(await live(30_000)).toEqual([]);
      expect(await live(120_000)).toEqual([a.id]);
    } finally {
      await a.session.end();
      await killed.session.end().catch(() => {});
      await admin.end();
    }
  });

  it('is created where it is missing when a store of the current version opens (one made by an earlier release), once', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    const admin = new pg.Client(url);
    await admin.connect();
    const functions = async (): Promise<number> =>
      (await admin.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_proc WHERE proname = 'pmd_live_processes'")).rows[0]?.n ?? -1;
    try {
      expect(await functions()).toBe(1);
      await admin.query(`DROP FUNCTION ${LIVE_FUNCTION.signature}`);
      expect(await functions()).toBe(0);
      const store = await openPostgresStore(url);
      try {
        expect(await functions()).toBe(1);
        // It works as the store asks it: a job's counts go through it.
        await store.prepareJob({ job: 'j', dataset: 'd', interval: '1d', tickers: ['AAA'] }, { clear: false });
        expect((await store.status())[0]).toMatchObject({ job: 'j', files: 0, processes: [] });
      } finally {
        await store.close();
      }
      await (await openPostgresStore(url)).close();
      expect(await functions()).toBe(1);
    } finally {
      await admin.end();
    }
  });
});
