// Two jobs that share a ticker (TSLA AAPL and AAPL MSFT) merging at once on one store: the merges
// lock bars rows in one global order, so they queue behind each other instead of deadlocking;
// and whatever deadlock is left to chance is retried (db.ts), never an ERR_STORE.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db, type TransactionOptions } from '../../../src/store/postgres/db.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { completeFiles } from '../../../src/store/postgres/merge.js';
import { ensureSchema } from '../../../src/store/postgres/schema.js';
import type { CompletedFile, JobSpec, WorkQueue } from '../../../src/store/types.js';
import type { ParsedRow } from '../../../src/types.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { dayFile, days, row } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

const DATASET = 'us_stocks_sip/day_aggs_v1';
const JOB1: JobSpec = { job: `${DATASET}/1d/AAPL,TSLA`, dataset: DATASET, interval: '1d', tickers: ['TSLA', 'AAPL'] };
const JOB2: JobSpec = { job: `${DATASET}/1d/AAPL,MSFT`, dataset: DATASET, interval: '1d', tickers: ['AAPL', 'MSFT'] };
const ALL = ['AAPL', 'MSFT', 'TSLA'];

/** One day file of the flat files as `job` gets it: `bars` bars (one a minute) for each ticker, closes from `close`. */
function dayOf(job: JobSpec, day: string, etag: string, close: number, bars = 1): CompletedFile {
  const rows: ParsedRow[] = ALL.flatMap((t) => Array.from({ length: bars }, (_, m) => row(t, day, close + m, m)));
  return { job, file: dayFile(day, etag), rows };
}

interface Bars {
  symbol: string;
  day: string;
  time: number;
  close: number;
}

/** The bars as stored, read with plain SQL (not through the store). */
async function storedBars(c: pg.Client): Promise<Bars[]> {
  return (await c.query<Bars>('SELECT symbol, day, time::float8 AS time, close FROM bars WHERE symbol = ANY($1) ORDER BY symbol, time', [ALL])).rows;
}

/** What the bars must be once every file of `batches` is merged, the later batch winning a shared day. */
function expectedBars(...batches: CompletedFile[][]): Bars[] {
  const out = new Map<string, Bars>();
  for (const b of batches.flat()) {
    const wanted = new Set(b.job.tickers);
    for (const r of b.rows) if (wanted.has(r.ticker)) out.set(`${r.ticker}\n${r.time}`, { symbol: r.ticker, day: b.file.day, time: r.time, close: r.close });
  }
  return [...out.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.time - b.time));
}

/** A Db that counts the attempts of its transactions: a retried one runs its function again. */
class CountingDb extends Db {
  attempts = 0;

  override transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return super.transaction((c) => {
      this.attempts++;
      return fn(c);
    }, options);
  }
}

/**
 * Bars of other tickers, as a real store has years of: the planner then reaches a day's bars
 * through their index, in the order of the batch's days, as it does on a real store.
 */
async function history(c: pg.Client): Promise<void> {
  await c.query(
    `INSERT INTO bars (symbol, interval, time, day, open, high, low, close, volume, transactions)
     SELECT 'F' || (i % 400), '1d', i, '2020-01-01', 1, 1, 1, 1, 1, 1 FROM generate_series(1, 40000) AS i`,
  );
  await c.query('ANALYZE bars');
}

/** A meeting point for two: each call waits for the other side's call of the same rank. */
function pairs(): () => Promise<void> {
  const waiting: Array<() => void> = [];
  return () => {
    const other = waiting.shift();
    if (other) {
      other();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
}

const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'ok',
    (e: unknown) => e,
  );

describe('two jobs sharing a ticker, merging at once', () => {
  it('queue behind each other instead of deadlocking when their batches hold the same days in opposite orders', async () => {
    const url = await server.freshDatabase();
    // Two processes (a pool each) and a watcher that sees who waits for whom.
    const [a, b] = [new CountingDb(url, 1), new CountingDb(url, 1)];
    const admin = new pg.Client(url);
    const watcher = new pg.Client(url);
    try {
      await ensureSchema(a);
      await admin.connect();
      await watcher.connect();
      const ids: number[] = [];
      for (const job of [JOB1, JOB2]) {
        const [p] = await a.query<{ id: number }>("INSERT INTO processes (jobs, host, pid) VALUES ($1, 'test', 1) RETURNING id", [[job.job]]);
        ids.push(p?.id ?? 0);
      }
      const [idA, idB] = ids as [number, number];
      const [d1, d2] = days(2) as [string, string];
      // A store with history (so that the planner reaches a day's bars through their index, as
      // it does on a real store), and both jobs' days already merged once.
      await history(admin);
      await completeFiles(a, idA, [dayOf(JOB1, d1, 'old', 1), dayOf(JOB1, d2, 'old', 1)]);
      await completeFiles(b, idB, [dayOf(JOB2, d1, 'old', 1), dayOf(JOB2, d2, 'old', 1)]);
      a.attempts = b.attempts = 0;

      // Both files republished; each job's batch holds them in the order they arrived, opposite
      // for the two jobs. The admin holds MSFT's bar of d2, so that B stops midway, waiting for it.
      const batchA = [dayOf(JOB1, d1, 'new', 10), dayOf(JOB1, d2, 'new', 10)];
      const batchB = [dayOf(JOB2, d2, 'new', 20), dayOf(JOB2, d1, 'new', 20)];
      await admin.query('BEGIN');
      await admin.query("SELECT 1 FROM bars WHERE symbol = 'MSFT' AND day = $1 FOR UPDATE", [d2]);
      const adminPid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const blockedBy = async (pid: number | undefined): Promise<number[]> =>
        (await watcher.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows.map((r) => r.pid);

      const mergeB = settle(completeFiles(b, idB, batchB));
      await expect.poll(() => blockedBy(adminPid), { timeout: 20_000 }).toHaveLength(1);
      const [pidB] = await blockedBy(adminPid);
      // A goes as far as it can, and waits for B.
      const mergeA = settle(completeFiles(a, idA, batchA));
      await expect.poll(() => blockedBy(pidB), { timeout: 20_000 }).toHaveLength(1);
      // Locking in batch order, B would now hold AAPL's d2 and A AAPL's d1, each going on to the
      // other's: a deadlock as soon as the admin lets B go. In one order, A waits holding nothing B needs.
      await admin.query('ROLLBACK');

      expect(await mergeB).toBe('ok');
      expect(await mergeA).toBe('ok');
      // Neither was a deadlock's victim, run again.
      expect([a.attempts, b.attempts]).toEqual([1, 1]);
      // A committed last: the shared AAPL days are A's; each job's own ticker its own.
      expect(await storedBars(admin)).toEqual(expectedBars(batchB, batchA));
      expect((await admin.query("SELECT COUNT(*)::int AS n FROM job_files WHERE state = 'done' AND etag = 'new'")).rows).toEqual([{ n: 4 }]);
    } finally {
      await admin.end().catch(() => {});
      await watcher.end().catch(() => {});
      await a.end();
      await b.end();
    }
  });
});

describe('two jobs sharing a ticker, run at once on one store', () => {
  it('complete round after round with no ERR_STORE, and the bars are exactly what was written', async () => {
    const url = await server.freshDatabase();
    // Two processes, a store and a queue each, as two machines would have.
    const [s1, s2] = [await openPostgresStore(url), await openPostgresStore(url)];
    const admin = new pg.Client(url);
    await admin.connect();
    try {
      await history(admin);
      await s1.prepareJob(JOB1, { clear: false });
      await s2.prepareJob(JOB2, { clear: false });
      const [q1, q2] = [await s1.openQueue([JOB1]), await s2.openQueue([JOB2])];
      const all = days(24);
      const rounds = 10;
      let written: CompletedFile[][] = [];
      /**
       * One round of a job: every file offered (republished: a new ETag) and claimed, then merged
       * five days at a time, the two jobs' batches of the same five days at once, in `order`.
       */
      const round = async (q: WorkQueue, job: JobSpec, r: number, order: 'oldest first' | 'newest first', meet: () => Promise<void>): Promise<CompletedFile[]> => {
        await q.offer(job, all.map((d) => dayFile(d, `round-${r}`)));
        const items = await q.claim(all.length);
        const done: CompletedFile[] = [];
        for (let i = 0; i < items.length; i += 5) {
          const batch = items.slice(i, i + 5).map((it) => dayOf(job, it.file.day, it.file.etag, r * 100, 390));
          if (order === 'newest first') batch.reverse();
          await meet();
          await q.complete(batch);
          done.push(...batch);
        }
        return done;
      };
      try {
        for (let r = 1; r <= rounds; r++) {
          const meet = pairs();
          written = await Promise.all([round(q1, JOB1, r, 'oldest first', meet), round(q2, JOB2, r, 'newest first', meet)]);
          expect(written.map((w) => w.length)).toEqual([all.length, all.length]);
        }
      } finally {
        await q1.close();
        await q2.close();
      }
      // The same file gives both jobs the same AAPL bars: the last round's, whoever merged last.
      expect(await storedBars(admin)).toEqual(expectedBars(...written));
      expect((await admin.query("SELECT job, COUNT(*)::int AS n FROM job_files WHERE state = 'done' AND etag = $1 GROUP BY job ORDER BY job", [`round-${rounds}`])).rows).toEqual([
        { job: JOB2.job, n: all.length },
        { job: JOB1.job, n: all.length },
      ]);
    } finally {
      await admin.end();
      await s1.close();
      await s2.close();
    }
  });
});
