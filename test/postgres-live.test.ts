// live.ts: a process is alive while its session holds its advisory lock, its heartbeat is younger
// than the lease and it has not ended; the counts and the process list follow from that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/store/postgres/db.js';
import { jobCounts, jobProcesses } from '../src/store/postgres/live.js';
import { LOCK_NAMESPACE, ensureSchema } from '../src/store/postgres/schema.js';
import { startPostgres, type TestPostgres } from './fixtures/postgres.js';

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
});
