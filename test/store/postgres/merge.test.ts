// merge.ts: the COPY text a batch becomes (escaping included), and the transaction that replaces
// each file's days and marks it done, or does nothing at all.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../../../src/store/postgres/db.js';
import { completeFiles, copyLines, escapeCopy } from '../../../src/store/postgres/merge.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { ensureSchema } from '../../../src/store/postgres/schema.js';
import type { CompletedFile, JobSpec, WorkItem } from '../../../src/store/types.js';
import type { ParsedRow } from '../../../src/types.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { JOB, completed, dayFile, days, row, twoProcesses } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

/** The text `copyLines` streams, one string per line. */
function copied(batch: readonly CompletedFile[]): string[] {
  return [...copyLines(batch)].join('').split('\n').slice(0, -1);
}

describe('escapeCopy', () => {
  it.each([
    ['AAA', 'AAA'],
    ['BRK.B', 'BRK.B'],
    ['A\tB', 'A\\tB'],
    ['A\\B', 'A\\\\B'],
    ['A\nB', 'A\\nB'],
    ['A\rB', 'A\\rB'],
    ['\\N', '\\\\N'], // a ticker spelled like COPY's null stays a string
    ['\\t\t', '\\\\t\\t'],
  ])('%j becomes %j', (raw, escaped) => {
    expect(escapeCopy(raw)).toBe(escaped);
  });
});

describe('copyLines', () => {
  const [d1, d2] = days(2) as [string, string];

  it('writes one tab-separated line per bar of the job, \\N for no transactions, seq across files', () => {
    const lines = copied([
      completed(dayFile(d1), [row('AAA', d1, 10), { ...row('BBB', d1, 20), transactions: null }]),
      completed(dayFile(d2), [row('AAA', d2, 11)]),
    ]);
    expect(lines).toEqual([
      `0\tAAA\t1d\t${row('AAA', d1, 10).time}\t${d1}\t9\t11\t8\t10\t1000.5\t12`,
      `1\tBBB\t1d\t${row('BBB', d1, 20).time}\t${d1}\t19\t21\t18\t20\t1000.5\t\\N`,
      `2\tAAA\t1d\t${row('AAA', d2, 11).time}\t${d2}\t10\t12\t9\t11\t1000.5\t12`,
    ]);
  });

  it("skips rows of tickers that are not the job's", () => {
    const lines = copied([completed(dayFile(d1), [row('ZZZ', d1, 1), row('AAA', d1, 2), row('aaa', d1, 3)])]);
    expect(lines.map((l) => l.split('\t').slice(0, 2))).toEqual([['0', 'AAA']]);
  });

  it('escapes a ticker with a tab, a backslash or a newline so that each bar stays one line of 11 fields', () => {
    const odd = ['A\tB', 'C\\D', 'E\nF', 'G\r'];
    const job: JobSpec = { ...JOB, tickers: odd };
    const lines = copied([completed(dayFile(d1), odd.map((t) => row(t, d1, 1)), job)]);
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.split('\t').length)).toEqual([11, 11, 11, 11]);
    expect(lines.map((l) => l.split('\t')[1])).toEqual(['A\\tB', 'C\\\\D', 'E\\nF', 'G\\r']);
  });

  it('yields chunks of at least 64 KiB that end on a line, then the rest', () => {
    const rows: ParsedRow[] = Array.from({ length: 3000 }, (_, i) => row('AAA', d1, i, i));
    const chunks = [...copyLines([completed(dayFile(d1), rows)])];
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(65_536);
    for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
    expect(chunks.join('').split('\n')).toHaveLength(3001);
  });

  it('yields nothing for a batch without bars', () => {
    expect([...copyLines([completed(dayFile(d1), [])])]).toEqual([]);
    expect([...copyLines([])]).toEqual([]);
  });
});

describe('completeFiles', () => {
  /** A Db (of one connection unless told) on a fresh store, and a registered process id. */
  async function withMerge(test: (db: Db, processId: number) => Promise<void>, poolSize = 1): Promise<void> {
    const db = new Db(await server.freshDatabase(), poolSize);
    try {
      await ensureSchema(db);
      const [p] = await db.query<{ id: number }>("INSERT INTO processes (jobs, host, pid) VALUES ($1, 'test', 1) RETURNING id", [[JOB.job]]);
      await test(db, p?.id ?? 0);
    } finally {
      await db.end();
    }
  }

  const bars = (db: Db) =>
    db.query<{ symbol: string; day: string; close: number; transactions: number | null }>(
      'SELECT symbol, day, close, transactions FROM bars ORDER BY symbol, time',
    );

  it('stores a ticker with a tab, a backslash or a newline as it is, and no transactions as NULL', async () => {
    await withMerge(async (db, id) => {
      const [d1] = days(1) as [string];
      const odd = ['A\tB', 'C\\D', 'E\nF', '\\N'];
      const job: JobSpec = { ...JOB, tickers: odd };
      await completeFiles(db, id, [completed(dayFile(d1), odd.map((t, i) => ({ ...row(t, d1, i), transactions: i === 0 ? null : i })), job)]);
      expect(await bars(db)).toEqual(
        [
          { symbol: 'A\tB', day: d1, close: 0, transactions: null },
          { symbol: 'C\\D', day: d1, close: 1, transactions: 1 },
          { symbol: 'E\nF', day: d1, close: 2, transactions: 2 },
          { symbol: '\\N', day: d1, close: 3, transactions: 3 },
        ].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
      );
      // bar_symbols lists the merged tickers (no index of bars leads with the symbol).
      const listed = await db.query<{ interval: string; symbol: string }>('SELECT interval, symbol FROM bar_symbols');
      expect(listed.map((r) => r.symbol).sort()).toEqual([...odd].sort());
      expect(new Set(listed.map((r) => r.interval))).toEqual(new Set([JOB.interval]));
    });
  });

  it('keeps the last of two bars with the same time in one batch', async () => {
    await withMerge(async (db, id) => {
      const [d1] = days(1) as [string];
      await completeFiles(db, id, [completed(dayFile(d1), [row('AAA', d1, 1), row('AAA', d1, 2), row('AAA', d1, 3)])]);
      expect(await bars(db)).toEqual([{ symbol: 'AAA', day: d1, close: 3, transactions: 12 }]);
    });
  });

  it('marks the files done by this process, records its counters and each ticker of the job as ingested', async () => {
    await withMerge(async (db, id) => {
      const [d1, d2] = days(2) as [string, string];
      await completeFiles(db, id, [completed(dayFile(d1), [row('AAA', d1, 1)]), completed(dayFile(d2), [])]);
      expect(await db.query('SELECT key, state, done_by FROM job_files ORDER BY key')).toEqual([
        { key: dayFile(d1).key, state: 'done', done_by: id },
        { key: dayFile(d2).key, state: 'done', done_by: id },
      ]);
      expect(await db.query('SELECT files_done, bytes FROM processes WHERE id = $1', [id])).toEqual([{ files_done: 2, bytes: 2000 }]);
      expect(await db.query('SELECT symbol, day, rows FROM ingested_days ORDER BY day, symbol')).toEqual([
        { symbol: 'AAA', day: d1, rows: 1 },
        { symbol: 'BBB', day: d1, rows: 0 },
        { symbol: 'AAA', day: d2, rows: 0 },
        { symbol: 'BBB', day: d2, rows: 0 },
      ]);
    });
  });

  it('skips a file another process already finished with the same ETag: its bars and counters stay', async () => {
    await withMerge(async (db, id) => {
      const [d1] = days(1) as [string];
      await completeFiles(db, id, [completed(dayFile(d1), [row('AAA', d1, 1)])]);
      await completeFiles(db, id, [completed(dayFile(d1), [row('AAA', d1, 99)])]);
      expect(await bars(db)).toEqual([{ symbol: 'AAA', day: d1, close: 1, transactions: 12 }]);
      expect(await db.query('SELECT files_done FROM processes WHERE id = $1', [id])).toEqual([{ files_done: 1 }]);
      // Republished (another ETag): its day is replaced.
      await completeFiles(db, id, [completed(dayFile(d1, 'etag-new'), [row('AAA', d1, 7)])]);
      expect(await bars(db)).toEqual([{ symbol: 'AAA', day: d1, close: 7, transactions: 12 }]);
    });
  });

  it('creates its temporary table again on a connection whose first merge rolled back', async () => {
    await withMerge(async (db, id) => {
      const [d1, d2] = days(2) as [string, string];
      // NaN is no bigint: COPY fails after the temporary table was created, and the transaction
      // that created it rolls back. Pool of one: the next merge runs on the same connection.
      const bad = await completeFiles(db, id, [completed(dayFile(d1), [{ ...row('AAA', d1, 1), time: Number.NaN }])]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(bad).toMatchObject({ code: 'ERR_STORE', message: expect.stringContaining('bigint') as unknown });
      await completeFiles(db, id, [completed(dayFile(d1), [row('AAA', d1, 1)])]);
      await completeFiles(db, id, [completed(dayFile(d2), [row('AAA', d2, 2)])]);
      expect((await bars(db)).map((b) => b.close)).toEqual([1, 2]);
      expect(await db.query("SELECT COUNT(*) AS n FROM job_files WHERE state = 'done'")).toEqual([{ n: 2 }]);
    });
  });

  it('does nothing for an empty batch', async () => {
    await withMerge(async (db, id) => {
      await completeFiles(db, id, []);
      expect(await db.query('SELECT COUNT(*) AS n FROM job_files')).toEqual([{ n: 0 }]);
    });
  });

  it('fails with ERR_STORE when the server goes down mid-complete, and marks nothing done without its bars', async () => {
    // A store timeout of 0: fail at once instead of waiting for the restart (reconnect.test.ts).
    const t = await twoProcesses(await server.freshDatabase(), { a: { storeTimeoutMs: 0 } });
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
