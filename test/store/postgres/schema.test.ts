// schema.ts: the tables of a fresh store, created once however many processes open it at once,
// and a store of another version refused with one clear line.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../../../src/store/postgres/db.js';
import { MIGRATIONS, SCHEMA_VERSION, ensureSchema } from '../../../src/store/postgres/schema.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { queryOnce, startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { JOB } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

/** Runs `sql` on the database at `url` on a connection of its own. */
const admin = queryOnce;

describe('postgres schema', () => {
  it('is created once by three processes opening a fresh database at once', async () => {
    const url = await server.freshDatabase();
    const opened = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
    const client = new pg.Client(url);
    await client.connect();
    try {
      const meta = await client.query("SELECT value FROM pmd_meta WHERE key = 'schema_version'");
      expect(meta.rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
      const tables = await client.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name::text COLLATE "C"`,
      );
      expect(tables.rows.map((r) => r.t)).toEqual([
        'actions_fetched',
        'actions_market',
        'bar_symbols',
        'bars',
        'coverage',
        'dividends',
        'file_findings',
        'ingested_days',
        'job_files',
        'jobs',
        'pmd_meta',
        'processes',
        'rate_limits',
        'splits',
      ]);
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

  it('refuses a store whose version is not a number', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    await admin(url, 'UPDATE pmd_meta SET value = $1 WHERE key = $2', ['1.5', 'schema_version']);
    await expect(openPostgresStore(url)).rejects.toMatchObject({
      code: 'ERR_STORE',
      message: expect.stringContaining('has schema version 1.5, and this version of preload-market-data reads version') as unknown,
    });
  });

  it('opens a store of the current version as it is: no migration runs again, its data stays', async () => {
    const url = await server.freshDatabase();
    const first = await openPostgresStore(url);
    await first.prepareJob(JOB, { clear: false });
    await first.close();
    const db = new Db(url, 1);
    try {
      await ensureSchema(db);
      await ensureSchema(db);
    } finally {
      await db.end();
    }
    const again = await openPostgresStore(url);
    try {
      expect(await again.getJob(JOB.job)).toMatchObject({ job: JOB.job, symbols: ['AAA', 'BBB'] });
    } finally {
      await again.close();
    }
    expect(await admin(url, 'SELECT key, value FROM pmd_meta')).toEqual([{ key: 'schema_version', value: String(SCHEMA_VERSION) }]);
  });

  it('gives a store of this version made before file_findings the table, without a change of version, and both can open it', async () => {
    const url = await server.freshDatabase();
    await (await openPostgresStore(url)).close();
    // As an earlier release left it: the same version, no findings table.
    await admin(url, 'DROP TABLE file_findings');
    const store = await openPostgresStore(url);
    try {
      expect(await store.fileFindings()).toEqual([]);
    } finally {
      await store.close();
    }
    expect(await admin(url, "SELECT to_regclass('file_findings') IS NOT NULL AS found")).toEqual([{ found: true }]);
    expect(await admin(url, "SELECT value FROM pmd_meta WHERE key = 'schema_version'")).toEqual([{ value: String(SCHEMA_VERSION) }]);
  });

  it('brings a store of version 1 (0.2) up to the current one: its bars stay, the corporate actions tables appear', async () => {
    const url = await server.freshDatabase();
    await admin(url, 'CREATE TABLE pmd_meta (key text PRIMARY KEY, value text NOT NULL)');
    await admin(url, MIGRATIONS.get(1) ?? '');
    await admin(url, "INSERT INTO pmd_meta VALUES ('schema_version', '1')");
    // A bar starts on the day of its file (reads walk the primary key on a time range around the days).
    const time = Date.parse('2024-01-02T05:00:00Z');
    await admin(url, "INSERT INTO bars VALUES ('AAA', '1d', $1, '2024-01-02', 1, 2, 0.5, 1.5, 10, 3)", [time]);
    const store = await openPostgresStore(url);
    try {
      expect(await store.readBars('AAA', '1d', '2024-01-01', '2024-01-31')).toEqual([{ time, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, transactions: 3 }]);
      expect(await store.getActions('AAA')).toBeUndefined();
    } finally {
      await store.close();
    }
    expect(await admin(url, "SELECT value FROM pmd_meta WHERE key = 'schema_version'")).toEqual([{ value: String(SCHEMA_VERSION) }]);
    const tables = await admin(url, "SELECT table_name FROM information_schema.tables WHERE table_name IN ('splits', 'dividends', 'actions_fetched') ORDER BY 1");
    expect(tables).toEqual([{ table_name: 'actions_fetched' }, { table_name: 'dividends' }, { table_name: 'splits' }]);
  });

  it('brings a store of version 2 up to 3: its bars stay, keyed (interval, day, symbol, time), and read as before; bar_symbols lists them', async () => {
    const url = await server.freshDatabase();
    await admin(url, 'CREATE TABLE pmd_meta (key text PRIMARY KEY, value text NOT NULL)');
    await admin(url, `${MIGRATIONS.get(1) ?? ''}${MIGRATIONS.get(2) ?? ''}`);
    await admin(url, "INSERT INTO pmd_meta VALUES ('schema_version', '2')");
    const bars = ['2024-01-02', '2024-01-03', '2024-02-01'].map((day, i) => ({ day, time: Date.parse(`${day}T05:00:00Z`), close: 10 + i }));
    for (const b of bars) {
      await admin(url, "INSERT INTO bars VALUES ('AAA', '1d', $1, $2, 1, 2, 0.5, $3, 10, NULL), ('X:BTCUSD', '1d', $1, $2, 1, 2, 0.5, $3, 10, 7)", [b.time, b.day, b.close]);
    }
    const ALL = 'SELECT symbol, interval, time::float8 AS time, day, open, high, low, close, volume, transactions FROM bars ORDER BY symbol, time';
    const before = await admin(url, ALL);
    const store = await openPostgresStore(url);
    try {
      const read = await store.readBars('AAA', '1d', '2024-01-01', '2024-01-31');
      expect(read.map((b) => [b.time, b.close, b.transactions])).toEqual(bars.slice(0, 2).map((b) => [b.time, b.close, null]));
      expect(await store.barRange(['X:BTCUSD'], '1d', '2024-01-03', '2024-02-01')).toEqual({ first: bars[1]?.time, last: bars[2]?.time });
      expect(await store.listSymbols('1d')).toEqual(['AAA', 'X:BTCUSD']);
    } finally {
      await store.close();
    }
    expect(await admin(url, "SELECT value FROM pmd_meta WHERE key = 'schema_version'")).toEqual([{ value: String(SCHEMA_VERSION) }]);
    expect(await admin(url, ALL)).toEqual(before);
    expect(before).toHaveLength(6);
    // The day-major key, and (a small store: built at open) the partial index by ticker of day bars.
    const indexes = await admin<{ indexname: string; indexdef: string }>(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'bars' ORDER BY 1");
    expect(indexes.map((i) => i.indexname)).toEqual(['bars_by_ticker', 'bars_pkey']);
    expect(indexes[1]?.indexdef).toContain('("interval", day, symbol, "time")');
    expect(indexes[0]?.indexdef).toContain("(symbol, \"time\", day) INCLUDE (open, high, low, close, volume, transactions) WHERE (\"interval\" = '1d'::text)");
    expect(await admin(url, 'SELECT interval, symbol FROM bar_symbols ORDER BY symbol')).toEqual([
      { interval: '1d', symbol: 'AAA' },
      { interval: '1d', symbol: 'X:BTCUSD' },
    ]);
    // The old table is gone, its name taken by the new one.
    expect(await admin(url, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'bars%' ORDER BY 1")).toEqual([{ table_name: 'bars' }]);
  });

  it('brings a store of version 3 up to 4: actions_market appears, the per-ticker actions stay and still count', async () => {
    const url = await server.freshDatabase();
    await admin(url, 'CREATE TABLE pmd_meta (key text PRIMARY KEY, value text NOT NULL)');
    await admin(url, `${MIGRATIONS.get(1) ?? ''}${MIGRATIONS.get(2) ?? ''}${MIGRATIONS.get(3) ?? ''}`);
    await admin(url, "INSERT INTO pmd_meta VALUES ('schema_version', '3')");
    await admin(url, "INSERT INTO splits VALUES ('AAA', '2024-06-03', 1, 3, 'forward_split', NULL, 's1')");
    await admin(url, "INSERT INTO actions_fetched VALUES ('AAA', '2026-11-20T10:00:00Z')");
    const store = await openPostgresStore(url);
    try {
      expect(await store.getActions('AAA')).toMatchObject({ fetchedAt: '2026-11-20T10:00:00.000Z', splits: [{ executionDate: '2024-06-03', splitTo: 3 }], dividends: [] });
      expect(await store.allActionsFetchedAt()).toBeUndefined();
      expect(await store.actionsFetchedAt(['AAA', 'BBB'])).toEqual(new Map([['AAA', '2026-11-20T10:00:00.000Z']]));
    } finally {
      await store.close();
    }
    expect(await admin(url, "SELECT value FROM pmd_meta WHERE key = 'schema_version'")).toEqual([{ value: '4' }]);
    expect(await admin(url, "SELECT to_regclass('actions_market') IS NOT NULL AS found")).toEqual([{ found: true }]);
  });

  it('rolls back a migration that fails, leaving a store it can create again', async () => {
    const url = await server.freshDatabase();
    // A table the first migration creates is already there: the migration fails, and with it the
    // whole transaction (pmd_meta included).
    await admin(url, 'CREATE TABLE bars (x int)');
    await expect(openPostgresStore(url)).rejects.toMatchObject({
      code: 'ERR_STORE',
      message: expect.stringContaining('relation "bars" already exists') as unknown,
    });
    expect(await admin(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).toEqual([
      { table_name: 'bars' },
    ]);
    await admin(url, 'DROP TABLE bars');
    await (await openPostgresStore(url)).close();
  });
});
