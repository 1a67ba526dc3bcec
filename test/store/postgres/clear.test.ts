// clear.ts: forgetting a job's progress on a shared store is refused while a live process works
// on the job (it would delete the files, ingested days and coverage that process is recording),
// with one line naming each; a process registering meanwhile waits for the clear to commit.
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/errors.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../../src/store/postgres/index.js';
import type { JobSpec, WorkItem, WorkQueue } from '../../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { JOB, completed, dayFile, days, row } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

interface World {
  url: string;
  /** The process working on the job. */
  worker: PostgresStore;
  /** Another process, the one asked to clear. */
  clearer: PostgresStore;
  /** Plain SQL, outside the stores. */
  admin: pg.Client;
  /** The done keys of {@link JOB}, read with plain SQL. */
  doneKeys(): Promise<string[]>;
}

async function withWorld(opts: { worker?: PostgresStoreOptions }, test: (w: World) => Promise<void>): Promise<void> {
  const url = await server.freshDatabase();
  const worker = await openPostgresStore(url, opts.worker);
  const clearer = await openPostgresStore(url);
  const admin = new pg.Client(url);
  await admin.connect();
  const doneKeys = async (): Promise<string[]> =>
    (await admin.query<{ key: string }>("SELECT key FROM job_files WHERE job = $1 AND state = 'done' ORDER BY key", [JOB.job])).rows.map((r) => r.key);
  try {
    await worker.prepareJob(JOB, { clear: false });
    await test({ url, worker, clearer, admin, doneKeys });
  } finally {
    await admin.end();
    await worker.close();
    await clearer.close();
  }
}

/** Opens a queue on `job`, offers two days and completes the first: one done file, one claimed. */
async function working(store: PostgresStore, job: JobSpec = JOB): Promise<WorkQueue> {
  const q = await store.openQueue([job]);
  const [d1, d2] = days(2) as [string, string];
  await q.offer(job, [dayFile(d1), dayFile(d2)]);
  const [first] = (await q.claim(2)) as [WorkItem, WorkItem];
  await q.complete([completed(first.file, [row('AAA', d1, 1)], job)]);
  return q;
}

describe('clearing the progress of a job on a shared store', () => {
  it('is refused while a live process works on the job, naming it, and deletes nothing; once it has closed, it clears', async () => {
    await withWorld({}, async (w) => {
      const q = await working(w.worker);
      const keys = await w.doneKeys();
      expect(keys).toHaveLength(1);

      const error = await rejection(w.clearer.prepareJob(JOB, { clear: true }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'clearProgress', value: true });
      const message = (error as Error).message;
      expect(message).toContain(JOB.job);
      expect(message).toContain(`process ${q.processId} (pid ${process.pid} on ${hostname()})`);
      expect(message).toContain('`clearProgress`');
      expect(message).not.toContain('\n');
      // clearProgress() goes through clearJob: refused the same way.
      expect(await rejection(w.clearer.clearJob(JOB.job, JOB.tickers, JOB.interval))).toMatchObject({ code: 'ERR_INVALID_OPTION' });

      // Nothing of the worker's was touched: its done file, its claim, its ingested days, the job.
      expect(await w.doneKeys()).toEqual(keys);
      expect(await q.counts()).toEqual({ files: 2, done: 1, claimed: 1, failed: 0, pending: 0 });
      expect((await w.admin.query('SELECT symbol FROM ingested_days ORDER BY symbol')).rows).toEqual([{ symbol: 'AAA' }, { symbol: 'BBB' }]);
      expect(await w.clearer.getJob(JOB.job)).toBeDefined();

      await q.close();
      await w.clearer.prepareJob(JOB, { clear: true });
      expect(await w.doneKeys()).toEqual([]);
      expect((await w.admin.query('SELECT symbol FROM ingested_days')).rows).toEqual([]);
      expect(await w.clearer.getJob(JOB.job)).toBeDefined(); // registered again, empty
    });
  });

  it('names every live process of the job, and only those: not a hung one, not one on another job', async () => {
    // The worker's own heartbeat never comes: the test makes it old.
    await withWorld({ worker: { heartbeatMs: 3_600_000 } }, async (w) => {
      const other: JobSpec = { ...JOB, job: 'stocks/1d/CCC', tickers: ['CCC'] };
      await w.worker.prepareJob(other, { clear: false });
      const [q1, q2, elsewhere] = [await working(w.worker), await w.worker.openQueue([JOB]), await working(w.worker, other)];
      try {
        const error = await rejection(w.clearer.prepareJob(JOB, { clear: true }));
        const message = (error as Error).message;
        expect(message).toContain(`2 processes are working on it: process ${q1.processId} (pid ${process.pid} on ${hostname()}), process ${q2.processId} (pid`);
        expect(message).not.toContain(`process ${elsewhere.processId} `);

        // Hung (a heartbeat older than the lease, 30 s): not alive, as the liveness function (schema.ts) has it.
        await w.admin.query("UPDATE processes SET heartbeat_at = now() - interval '1 hour' WHERE id = ANY($1)", [[q1.processId, q2.processId]]);
        await w.clearer.prepareJob(JOB, { clear: true });
        expect(await w.doneKeys()).toEqual([]);
        // The other job's progress stays.
        expect((await w.admin.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM job_files WHERE job = $1 AND state = 'done'", [other.job])).rows).toEqual([{ n: 1 }]);
      } finally {
        for (const q of [q1, q2, elsewhere]) await q.close();
      }
    });
  });

  it('holds off a process registering meanwhile until the clear has committed, which then refuses the next clear', async () => {
    await withWorld({}, async (w) => {
      const watcher = new pg.Client(w.url);
      await watcher.connect();
      const waiting = async (what: string): Promise<number> =>
        (await watcher.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND " + what)).rows[0]?.n ?? 0;
      try {
        // The clear stops at its last delete, after its check, on a table the admin holds.
        await w.admin.query('BEGIN');
        await w.admin.query('LOCK TABLE coverage IN ACCESS EXCLUSIVE MODE');
        const clearing = rejection(w.clearer.prepareJob(JOB, { clear: true }));
        await expect.poll(() => waiting("query LIKE 'DELETE FROM coverage%'"), { timeout: 20_000 }).toBe(1);

        let registered = false;
        const opening = w.worker.openQueue([JOB]).then((q) => {
          registered = true;
          return q;
        });
        await expect.poll(() => waiting("wait_event = 'advisory'"), { timeout: 20_000 }).toBe(1);
        expect(registered).toBe(false);

        await w.admin.query('ROLLBACK');
        expect(await clearing).toBeUndefined();
        const q = await opening;
        try {
          // Registered after the clear, on a job that is still there to work on.
          expect(await w.clearer.getJob(JOB.job)).toBeDefined();
          expect(await rejection(w.clearer.prepareJob(JOB, { clear: true }))).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'clearProgress' });
        } finally {
          await q.close();
        }
      } finally {
        await watcher.end();
      }
    });
  });
});
