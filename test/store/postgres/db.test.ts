// db.ts: the one pool and the one error mapping. Every driver failure becomes a StoreError with
// the masked URL and no password; a transaction that fails leaves nothing, and a connection that
// broke is not handed out again.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, StoreError } from '../../../src/errors.js';
import { Db, TRANSACTION_ATTEMPTS, describeError, isConnectionError } from '../../../src/store/postgres/db.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

/** Runs `test` on a Db of `poolSize` connections to a fresh database, and ends it. */
async function withDb(poolSize: number, test: (db: Db) => Promise<void>): Promise<void> {
  const db = new Db(await server.freshDatabase(), poolSize);
  try {
    await test(db);
  } finally {
    await db.end();
  }
}

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('describeError', () => {
  const noMessage = Object.assign(new Error(''), { code: 'ECONNRESET' });
  it.each<[string, unknown, string]>([
    ['an error by its message', new Error('boom'), 'boom'],
    ['an error without a message by its code', noMessage, 'ECONNRESET'],
    ['an error without a message or code by its name', new TypeError(''), 'TypeError'],
    ['an empty AggregateError by its first error', new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], ''), 'connect ECONNREFUSED 127.0.0.1:1'],
    ['an empty AggregateError of no Error by its code', Object.assign(new AggregateError(['x'], ''), { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
    ['an empty AggregateError with nothing else', new AggregateError([], ''), 'connection failed'],
    ['anything else as a string', 42, '42'],
  ])('describes %s', (_what, error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});

describe('isConnectionError', () => {
  const pgError = (code: string, message = 'x') => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
  const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
  it.each<[string, unknown, boolean]>([
    ['57P01 admin_shutdown', pgError('57P01', 'terminating connection due to administrator command'), true],
    ['57P02 crash_shutdown', pgError('57P02'), true],
    ['57P03 cannot_connect_now (starting up)', pgError('57P03', 'the database system is starting up'), true],
    ['08006 connection_failure', pgError('08006'), true],
    ['08P01 protocol_violation (class 08)', pgError('08P01'), true],
    ['ECONNREFUSED', errno('ECONNREFUSED'), true],
    ['ECONNRESET', errno('ECONNRESET'), true],
    ['EPIPE', errno('EPIPE'), true],
    ['ETIMEDOUT', errno('ETIMEDOUT'), true],
    ["node-postgres's Connection terminated unexpectedly", new Error('Connection terminated unexpectedly'), true],
    ["node-postgres's Connection terminated", new Error('Connection terminated'), true],
    ['a client that broke', new Error('Client has encountered a connection error and is not queryable'), true],
    ["the pool's connect timeout", new Error('timeout exceeded when trying to connect'), true],
    ['an empty AggregateError of refused connections (IPv4 and IPv6)', new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')], ''), true],
    ['a StoreError caused by one', new StoreError('w', 'PostgreSQL store w: Connection terminated', { cause: errno('ECONNRESET') }), true],
    ['40P01 deadlock_detected', pgError('40P01', 'deadlock detected'), false],
    ['40001 serialization_failure', pgError('40001'), false],
    ['42P01 undefined_table', pgError('42P01', 'relation "t" does not exist'), false],
    ['28P01 invalid_password', pgError('28P01', 'password authentication failed'), false],
    ['57014 query_canceled', pgError('57014'), false],
    ['ENOTFOUND (a wrong host)', errno('ENOTFOUND'), false],
    ['a StoreError of a bad statement', new StoreError('w', 'PostgreSQL store w: division by zero', { cause: pgError('22012', 'division by zero') }), false],
    ['a plain error', new Error('boom'), false],
    ['not an error', 'Connection terminated', false],
    ['undefined', undefined, false],
  ])('%s: %s', (_what, error, expected) => {
    expect(isConnectionError(error)).toBe(expected);
  });

  it('ends on a cycle of causes', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = new Error('b', { cause: a });
    expect(isConnectionError(a)).toBe(false);
  });
});

describe('Db.storeError (no connection made)', () => {
  const db = new Db('postgres://u:p%40ss@db.example:5432/market', 1);
  afterAll(() => db.end());

  it('wraps a driver error in a StoreError naming the masked URL, its password removed', () => {
    const cause = new Error('password authentication failed: p@ss (p%40ss)');
    const error = db.storeError(cause);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'ERR_STORE', where: 'postgres://u:***@db.example:5432/market', cause });
    expect(error.message).toBe('PostgreSQL store postgres://u:***@db.example:5432/market: password authentication failed: *** (***)');
  });

  it('says it cannot connect when the error came from connecting', () => {
    expect(db.storeError(new Error('timeout'), true).message).toBe(
      'Cannot connect to the PostgreSQL store postgres://u:***@db.example:5432/market: timeout',
    );
  });

  it('passes an error of this library through as it is', () => {
    const own = new ConfigurationError('not this one');
    expect(db.storeError(own)).toBe(own);
  });

  it('prints the masked URL as where', () => {
    expect(db.where).toBe('postgres://u:***@db.example:5432/market');
  });
});

describe('Db against a real server', () => {
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

  it('maps a failed statement to ERR_STORE, without the password', async () => {
    await withDb(1, async (db) => {
      const error = await rejection(db.query('SELECT * FROM no_such_table'));
      expect(error).toMatchObject({ code: 'ERR_STORE', name: 'StoreError' });
      expect((error as Error).message).toMatch(/^PostgreSQL store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+: relation "no_such_table" does not exist$/);
      expect((error as Error).message).not.toContain('test-secret');
      expect((error as { cause?: unknown }).cause).toBeInstanceOf(pg.DatabaseError);
    });
  });

  it('prepares a named statement once per connection', async () => {
    await withDb(1, async (db) => {
      expect(await db.query('SELECT $1::int + 1 AS n', [1], 'pmd_test_add')).toEqual([{ n: 2 }]);
      expect(await db.query('SELECT $1::int + 1 AS n', [2], 'pmd_test_add')).toEqual([{ n: 3 }]);
      // One connection: the one that prepared it.
      expect(await db.query("SELECT name FROM pg_prepared_statements WHERE name = 'pmd_test_add'")).toEqual([{ name: 'pmd_test_add' }]);
    });
  });

  it('reads int8 as a number', async () => {
    await withDb(1, async (db) => {
      expect(await db.query('SELECT COUNT(*) AS n, 9007199254740991::bigint AS big')).toEqual([{ n: 1, big: 9007199254740991 }]);
    });
  });

  it('commits a transaction, and rolls back one that fails, mapping its error', async () => {
    await withDb(1, async (db) => {
      await db.query('CREATE TABLE t (x int)');
      expect(
        await db.transaction(async (c) => {
          await c.query('INSERT INTO t VALUES (1)');
          return 'ok';
        }),
      ).toBe('ok');
      const error = await rejection(
        db.transaction(async (c) => {
          await c.query('INSERT INTO t VALUES (2)');
          await c.query('INSERT INTO t VALUES ($1)', ['not a number']);
        }),
      );
      expect(error).toMatchObject({ code: 'ERR_STORE' });
      expect((error as Error).message).toContain('invalid input syntax for type integer');
      // An error of this library thrown inside passes through, and rolls back too.
      const own = new ConfigurationError('stop');
      expect(
        await rejection(
          db.transaction(async (c) => {
            await c.query('INSERT INTO t VALUES (3)');
            throw own;
          }),
        ),
      ).toBe(own);
      expect(await db.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }]);
    });
  });

  it('does not hand out again a connection that broke inside a transaction', async () => {
    await withDb(1, async (db) => {
      const error = await rejection(db.transaction(async (c) => c.query('SELECT pg_terminate_backend(pg_backend_pid())')));
      expect(error).toMatchObject({ code: 'ERR_STORE' });
      // The pool's only connection was dropped, not returned: the next statement gets a new one.
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(await db.transaction(async (c) => (await c.query<{ one: number }>('SELECT 1 AS one')).rows)).toEqual([{ one: 1 }]);
    });
  });

  it('runs a function on one pooled connection, maps its error and gives the connection back', async () => {
    await withDb(1, async (db) => {
      const pid = await db.withPgClient(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
      expect(await rejection(db.withPgClient((c) => c.query('SELECT 1/0')))).toMatchObject({
        code: 'ERR_STORE',
        message: expect.stringContaining('division by zero') as unknown,
      });
      // Pool of one: the same connection both times, and it was released after the failure.
      expect(await db.withPgClient(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid)).toBe(pid);
    });
  });

  it('retries a statement across a server restart within retryMs, and not a statement that is wrong', async () => {
    const db = new Db(await server.freshDatabase(), 1, 60_000);
    try {
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await server.stop();
      let settled = false;
      const pending = db.query<{ one: number }>('SELECT 1 AS one').finally(() => (settled = true));
      const during = db.transaction(async (c) => (await c.query<{ two: number }>('SELECT 2 AS two')).rows);
      await server.start();
      expect(await pending).toEqual([{ one: 1 }]);
      expect(await during).toEqual([{ two: 2 }]);
      expect(settled).toBe(true);
      // Not a lost connection: at once, whatever the timeout.
      expect(await rejection(db.query('SELECT * FROM no_such_table'))).toMatchObject({ code: 'ERR_STORE' });
    } finally {
      await db.end();
    }
  });

  it('past retryMs, fails with ERR_STORE saying how long the store was away', async () => {
    const db = new Db(await server.freshDatabase(), 1, 500);
    try {
      await db.query('SELECT 1');
      await server.stop();
      const error = await rejection(db.withPgClient((c) => c.query('SELECT 1')));
      expect(error).toMatchObject({ code: 'ERR_STORE' });
      expect((error as Error).message).toMatch(/^PostgreSQL store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+: still unreachable after \d+ s \(the store timeout is 0\.5 s\): .*ECONNREFUSED/);
      expect((error as Error).message).not.toContain('test-secret');
    } finally {
      await server.start();
      await db.end();
    }
  });

  it('opens a session of its own, outside the pool', async () => {
    await withDb(1, async (db) => {
      const session = await db.session();
      try {
        // The pool's one connection is busy in a transaction while the session answers.
        const both = await db.transaction(async (c) => {
          const inPool = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
          const own = (await session.query<{ pid: number; n: number }>('SELECT pg_backend_pid() AS pid, COUNT(*) AS n')).rows[0];
          return { inPool, own };
        });
        expect(both.own?.pid).not.toBe(both.inPool);
        expect(both.own?.n).toBe(1); // int8 as a number on the session too
      } finally {
        await session.end();
      }
    });
  });

  it('says it cannot connect, naming the masked URL, when a session or a pooled connection fails', async () => {
    const closed = new URL(server.url);
    closed.port = '1'; // nothing listens there
    const db = new Db(closed.toString(), 1);
    try {
      for (const attempt of [db.session(), db.transaction(async () => {}), db.withPgClient(async () => {})]) {
        const error = await rejection(attempt);
        expect(error).toMatchObject({ code: 'ERR_STORE' });
        expect((error as Error).message).toMatch(/^Cannot connect to the PostgreSQL store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres: .*ECONNREFUSED/);
      }
    } finally {
      await db.end();
    }
  });
});

describe('Db.transaction with retry: a deadlock victim or a serialization failure runs again', () => {
  /** A promise each of `n` callers awaits until all `n` have arrived. */
  function barrier(n: number): () => Promise<void> {
    let arrived = 0;
    let open = (): void => {};
    const all = new Promise<void>((resolve) => (open = resolve));
    return () => {
      if (++arrived === n) open();
      return all;
    };
  }

  /** Two transactions that update rows 1 and 2 of `t` in opposite orders, meeting in between on their first attempt. */
  async function crossUpdates(db: Db, retry: boolean): Promise<{ outcomes: unknown[]; runs: number[] }> {
    await db.query('CREATE TABLE t (k int PRIMARY KEY, v int NOT NULL)');
    await db.query('INSERT INTO t VALUES (1, 0), (2, 0)');
    const meet = barrier(2);
    const runs = [0, 0];
    const cross = (i: 0 | 1, first: number, second: number): Promise<unknown> =>
      db
        .transaction(
          async (c) => {
            runs[i] = (runs[i] ?? 0) + 1;
            await c.query('UPDATE t SET v = v + 1 WHERE k = $1', [first]);
            if (runs[i] === 1) await meet();
            await c.query('UPDATE t SET v = v + 1 WHERE k = $1', [second]);
          },
          { retry },
        )
        .then(
          () => 'ok',
          (e: unknown) => e,
        );
    const outcomes = await Promise.all([cross(0, 1, 2), cross(1, 2, 1)]);
    return { outcomes, runs };
  }

  it('commits both of two transactions that deadlock, the victim after running once more', async () => {
    await withDb(2, async (db) => {
      const { outcomes, runs } = await crossUpdates(db, true);
      expect(outcomes).toEqual(['ok', 'ok']);
      expect([...runs].sort()).toEqual([1, 2]);
      // The victim's first attempt left nothing: each row was updated once by each.
      expect(await db.query('SELECT k, v FROM t ORDER BY k')).toEqual([
        { k: 1, v: 2 },
        { k: 2, v: 2 },
      ]);
    });
  });

  it('does not retry unless asked: the victim fails with ERR_STORE', async () => {
    await withDb(2, async (db) => {
      const { outcomes, runs } = await crossUpdates(db, false);
      expect(outcomes).toContain('ok');
      expect(outcomes.find((o) => o !== 'ok')).toMatchObject({ code: 'ERR_STORE', message: expect.stringContaining('deadlock detected') as unknown });
      expect(runs).toEqual([1, 1]);
    });
  });

  it('runs again a transaction that meets a concurrent update under REPEATABLE READ (40001)', async () => {
    await withDb(2, async (db) => {
      await db.query('CREATE TABLE t (k int PRIMARY KEY, v int NOT NULL)');
      await db.query('INSERT INTO t VALUES (1, 0)');
      let runs = 0;
      await db.transaction(
        async (c) => {
          runs++;
          await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
          await c.query('SELECT v FROM t WHERE k = 1'); // the snapshot
          if (runs === 1) await db.query('UPDATE t SET v = 10 WHERE k = 1'); // another commits meanwhile
          await c.query('UPDATE t SET v = v + 1 WHERE k = 1');
        },
        { retry: true },
      );
      expect(runs).toBe(2);
      expect(await db.query('SELECT v FROM t')).toEqual([{ v: 11 }]);
    });
  });

  it(`gives up after ${TRANSACTION_ATTEMPTS} attempts with ERR_STORE, and never retries another error`, async () => {
    await withDb(1, async (db) => {
      let runs = 0;
      const error = await rejection(
        db.transaction(
          async (c) => {
            runs++;
            await c.query("DO $$ BEGIN RAISE EXCEPTION 'made-up deadlock' USING ERRCODE = 'deadlock_detected'; END $$");
          },
          { retry: true },
        ),
      );
      expect(error).toMatchObject({ code: 'ERR_STORE', message: expect.stringContaining('made-up deadlock') as unknown });
      expect(runs).toBe(TRANSACTION_ATTEMPTS);

      runs = 0;
      const other = await rejection(
        db.transaction(
          async (c) => {
            runs++;
            await c.query('SELECT 1/0');
          },
          { retry: true },
        ),
      );
      expect(other).toMatchObject({ code: 'ERR_STORE', message: expect.stringContaining('division by zero') as unknown });
      expect(runs).toBe(1);
      // The connection went back to the pool in working order.
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });
  });
});
