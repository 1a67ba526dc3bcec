// The PostgreSQL side of --all: a whole-market file's columns merged (bulk.ts, binary.ts via
// merge.ts), large files through a sink (sink.ts), two processes on one file, a killed process's
// staging swept. Stored bars are read back with plain SQL and compared with the rows given.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { allScope } from '../../../src/store/scope.js';
import type { CompletedFile, JobSpec, WorkItem } from '../../../src/store/types.js';
import type { DayFile, ParsedRow } from '../../../src/types.js';
import { toColumns } from '../../fixtures/columns.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { seededInts } from '../../fixtures/random.js';
import { dayFile, days, row } from '../../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

const STOCKS = 'us_stocks_sip/day_aggs_v1';
const CRYPTO = 'global_crypto/day_aggs_v1';
const ALL: JobSpec = { job: `${STOCKS}/1d/*`, dataset: STOCKS, interval: '1d', tickers: [allScope(STOCKS)], all: true };
const ALL_CRYPTO: JobSpec = { job: `${CRYPTO}/1d/*`, dataset: CRYPTO, interval: '1d', tickers: [allScope(CRYPTO)], all: true };
const [D1, D2] = days(2) as [string, string];

/** A whole-market file of `day`: `n` tickers (sorted, as the files are), closes from `close`. */
function marketRows(day: string, n: number, close: number, skip: (i: number) => boolean = () => false): ParsedRow[] {
  const rows: ParsedRow[] = [];
  for (let i = 0; i < n; i++) if (!skip(i)) rows.push({ ...row(`T${String(i).padStart(5, '0')}`, day, close + i), transactions: i % 7 === 0 ? null : i });
  return rows;
}

function allFile(job: JobSpec, file: DayFile, rows: ParsedRow[]): CompletedFile {
  return { job, file, rows: [], columns: toColumns(rows) };
}

interface Stored {
  symbol: string;
  day: string;
  time: number;
  close: number;
  transactions: number | null;
}

/** Every stored bar, by plain SQL (not through the store), in code-unit order of symbol. */
async function stored(c: pg.Client): Promise<Stored[]> {
  const rows = (await c.query<Stored>('SELECT symbol, day, time::float8 AS time, close, transactions::float8 AS transactions FROM bars')).rows;
  return rows.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.time - b.time));
}

/** What the bars must be: the last row of each (ticker, time) of the files, later files winning. */
function expected(...files: CompletedFile[]): Stored[] {
  const out = new Map<string, Stored>();
  for (const f of files) {
    const c = f.columns;
    if (!c) continue;
    for (let i = 0; i < c.length; i++) {
      const t = c.transactions[i] as number;
      out.set(`${c.ticker[i]}\n${c.time[i]}`, { symbol: c.ticker[i] as string, day: f.file.day, time: c.time[i] as number, close: c.close[i] as number, transactions: Number.isNaN(t) ? null : t });
    }
  }
  return [...out.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.time - b.time));
}

/** A store and queue on a fresh database, with an admin connection; closed whatever happens. */
async function withStore(jobs: JobSpec[], test: (t: { url: string; store: Awaited<ReturnType<typeof openPostgresStore>>; queue: Awaited<ReturnType<Awaited<ReturnType<typeof openPostgresStore>>['openQueue']>>; admin: pg.Client }) => Promise<void>): Promise<void> {
  const url = await server.freshDatabase();
  const store = await openPostgresStore(url);
  for (const j of jobs) await store.prepareJob(j, { clear: false });
  const queue = await store.openQueue(jobs);
  const admin = new pg.Client(url);
  await admin.connect();
  try {
    await test({ url, store, queue, admin });
  } finally {
    await admin.end();
    await queue.close();
    await store.close();
  }
}

describe('complete() of --all files (columns)', () => {
  it('stores every row of the file, NaN transactions as NULL, the last of a repeated key; one ingested day under the scope', async () => {
    await withStore([ALL], async ({ store, queue, admin }) => {
      const rows = marketRows(D1, 3000, 10);
      // A repeated (ticker, time): the file is no longer strictly sorted, the last row wins.
      rows.push({ ...row('T00005', D1, 999), transactions: 1 });
      const file = allFile(ALL, dayFile(D1), rows);
      await queue.offer(ALL, [file.file]);
      await queue.claim(1);
      await queue.complete([file]);
      const bars = await stored(admin);
      expect(bars).toHaveLength(3000);
      expect(bars).toEqual(expected(file));
      expect(bars.find((b) => b.symbol === 'T00005')?.close).toBe(999);
      expect(bars.find((b) => b.symbol === 'T00007')?.transactions).toBeNull();
      expect((await admin.query('SELECT symbol, interval, day, rows FROM ingested_days')).rows).toEqual([{ symbol: allScope(STOCKS), interval: '1d', day: D1, rows: 3001 }]);
      expect((await admin.query('SELECT state, done_by FROM job_files')).rows).toEqual([{ state: 'done', done_by: queue.processId }]);
      expect((await admin.query('SELECT files_done FROM processes WHERE id = $1', [queue.processId])).rows).toEqual([{ files_done: 1 }]);
      expect(await store.listSymbols('1d')).toEqual(expected(file).map((b) => b.symbol));
      expect(await store.listSymbols('1m')).toEqual([]);
    });
  });

  it("a republished day replaces every ticker's rows, dropped tickers included; other days and crypto's bars stay", async () => {
    await withStore([ALL, ALL_CRYPTO], async ({ queue, admin }) => {
      const old = allFile(ALL, dayFile(D1), marketRows(D1, 500, 10));
      const other = allFile(ALL, dayFile(D2), marketRows(D2, 500, 20));
      const crypto = allFile(ALL_CRYPTO, { ...dayFile(D1), key: `${CRYPTO}/${D1}.csv.gz` }, [row('X:BTCUSD', D1, 40000), row('X:ETHUSD', D1, 3000)]);
      await queue.complete([old, other]);
      await queue.complete([crypto]);
      // Republished: every third ticker gone, the rest with new closes, a new one.
      const rows = [...marketRows(D1, 500, 50, (i) => i % 3 === 0), row('ZNEW', D1, 1)];
      const republished = allFile(ALL, dayFile(D1, 'etag-new'), rows);
      await queue.complete([republished]);
      expect(await stored(admin)).toEqual(expected(republished, other, crypto));
      expect((await admin.query('SELECT COUNT(*)::int AS n FROM bars WHERE day = $1 AND symbol NOT LIKE $2', [D1, 'X:%'])).rows).toEqual([{ n: rows.length }]);
    });
  });

  it('a time repeated by the file of another day is stored under both days (the key leads with the day); a read returns the later file bar', async () => {
    await withStore([ALL], async ({ store, queue, admin }) => {
      const first = allFile(ALL, dayFile(D1), marketRows(D1, 300, 1));
      // D2's file repeats D1's time for one ticker.
      const second = allFile(ALL, dayFile(D2), [...marketRows(D2, 300, 500, (i) => i === 3), { ...row('T00003', D1, 77), transactions: 5 }]);
      await queue.complete([first]);
      await queue.complete([second]);
      const both = [...expected(first), ...expected(second)].sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : x.time - y.time || (x.day < y.day ? -1 : 1)));
      const all = (await stored(admin)).sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : x.time - y.time || (x.day < y.day ? -1 : 1)));
      expect(all).toEqual(both);
      expect(all.filter((b) => b.symbol === 'T00003').map((b) => [b.day, b.close])).toEqual([
        [D1, expect.any(Number) as unknown],
        [D2, 77],
      ]);
      const read = await store.readBars('T00003', '1d', D1, D2);
      expect(read.map((b) => [b.time, b.close, b.transactions])).toEqual([[Date.parse(`${D1}T05:00:00Z`), 77, 5]]);
    });
  });

  it('lists every ticker in bar_symbols: those new in a later file, and those of a file whose first commit failed', async () => {
    await withStore([ALL], async ({ store, queue }) => {
      const [d1, d2, d3] = days(3) as [string, string, string];
      const names = (n: number) => Array.from({ length: n }, (_, i) => `T${String(i).padStart(5, '0')}`);
      await queue.complete([allFile(ALL, dayFile(d1), marketRows(d1, 100, 1))]);
      expect(await store.listSymbols('1d')).toEqual(names(100));
      // A file that brings 50 new tickers and fails inside its transaction (a time that is not an
      // integer): none of them is listed, and none may be taken as listed by this process.
      const bad = marketRows(d2, 150, 1);
      bad.push({ ...row('T99999', d2, 1), time: 1.5 });
      await expect(queue.complete([allFile(ALL, dayFile(d2), bad)])).rejects.toThrow();
      expect(await store.listSymbols('1d')).toEqual(names(100));
      await queue.complete([allFile(ALL, dayFile(d2), marketRows(d2, 150, 1))]);
      await queue.complete([allFile(ALL, dayFile(d3), [...marketRows(d3, 150, 1), row('ZNEW', d3, 1)])]);
      expect(await store.listSymbols('1d')).toEqual([...names(150), 'ZNEW']);
    });
  });

  it('keeps bar_symbols equal to the tickers of bars over batches of days whose tickers come, go and break their order', async () => {
    await withStore([ALL], async ({ store, queue, admin }) => {
      const ds = days(8);
      const rand = seededInts(5);
      const file = (day: string): CompletedFile => {
        const rows = marketRows(day, 120, 1, () => rand(100) < 30);
        // Now and then a file out of ticker order, so the walk along the previous file finds less.
        if (rand(3) === 0) rows.reverse();
        return allFile(ALL, dayFile(day), rows);
      };
      // Two days per batch: a file is walked along the one before it in the same transaction.
      for (let i = 0; i < ds.length; i += 2) await queue.complete([file(ds[i] as string), file(ds[i + 1] as string)]);
      const inBars = (await admin.query<{ symbol: string }>("SELECT DISTINCT symbol FROM bars WHERE interval = '1d'")).rows.map((r) => r.symbol).sort();
      const listed = (await admin.query<{ symbol: string }>("SELECT symbol FROM bar_symbols WHERE interval = '1d'")).rows.map((r) => r.symbol).sort();
      expect(inBars.length).toBeGreaterThan(100);
      expect(listed).toEqual(inBars);
      expect(await store.listSymbols('1d')).toEqual(inBars);
    });
  });

  it('two processes completing the same file at once store it once, without a deadlock', async () => {
    const url = await server.freshDatabase();
    const [a, b] = [await openPostgresStore(url), await openPostgresStore(url)];
    await a.prepareJob(ALL, { clear: false });
    const [qa, qb] = [await a.openQueue([ALL]), await b.openQueue([ALL])];
    const admin = new pg.Client(url);
    await admin.connect();
    try {
      const files = days(6).map((d, i) => allFile(ALL, dayFile(d), marketRows(d, 2000, i * 10)));
      await qa.offer(ALL, files.map((f) => f.file));
      // Both merge every file, in opposite orders, several files a batch: each file done once.
      await Promise.all([qa.complete(files.slice(0, 3)), qb.complete(files.slice(3).reverse()), qa.complete(files.slice(3)), qb.complete(files.slice(0, 3).reverse())]);
      expect(await stored(admin)).toEqual(expected(...files));
      const counts = (await admin.query<{ files_done: number }>('SELECT files_done FROM processes ORDER BY id')).rows.map((r) => r.files_done);
      expect(counts.reduce((s, n) => s + n, 0)).toBe(6);
      expect((await admin.query("SELECT COUNT(*)::int AS n FROM job_files WHERE state = 'done'")).rows).toEqual([{ n: 6 }]);
    } finally {
      await admin.end();
      for (const q of [qa, qb]) await q.close();
      for (const s of [a, b]) await s.close();
    }
  });
});

describe('openFile() sinks', () => {
  const stagingTables = async (admin: pg.Client) =>
    (await admin.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relname LIKE 'pmd\\_sink\\_%' AND relkind = 'r'")).rows.map((r) => r.relname);

  it('stages chunks out of sight and commits them as the day, the file done; the table is dropped', async () => {
    await withStore([ALL], async ({ queue, admin, store }) => {
      await queue.complete([allFile(ALL, dayFile(D1), marketRows(D1, 100, 1))]);
      const file = dayFile(D1, 'etag-2');
      await queue.offer(ALL, [file]);
      const [item] = (await queue.claim(1)) as [WorkItem];
      const rows = marketRows(D1, 2500, 100, (i) => i < 50);
      const sink = await queue.openFile(ALL, item.file);
      for (let i = 0; i < rows.length; i += 1000) await sink.write(toColumns(rows.slice(i, i + 1000)));
      // Nothing visible yet: the old day is still what readers see.
      expect(await stored(admin)).toEqual(expected(allFile(ALL, dayFile(D1), marketRows(D1, 100, 1))));
      expect(await stagingTables(admin)).toHaveLength(1);
      // What the run saw in the file goes in with its bars.
      await sink.commit([{ kind: 'outside-session', detail: { rows: 3 } }]);
      expect(await stored(admin)).toEqual(expected(allFile(ALL, file, rows)));
      expect((await admin.query('SELECT job, key, day, kind, detail FROM file_findings')).rows).toEqual([
        { job: ALL.job, key: file.key, day: D1, kind: 'outside-session', detail: { rows: 3 } },
      ]);
      expect(await store.ingestedDays(allScope(STOCKS), '1d', D1, D1)).toEqual(new Map([[D1, 'etag-2']]));
      expect((await admin.query('SELECT rows FROM ingested_days')).rows).toEqual([{ rows: 2450 }]);
      expect((await admin.query('SELECT state FROM job_files WHERE key = $1', [file.key])).rows).toEqual([{ state: 'done' }]);
      expect(await stagingTables(admin)).toEqual([]);
      expect(await queue.remaining()).toEqual({ pending: 0, claimedByOthers: 0 });
    });
  });

  it('keeps the last of a key repeated across chunks; reset() forgets what was staged; abort() drops it', async () => {
    await withStore([ALL], async ({ store, queue, admin }) => {
      const sink = await queue.openFile(ALL, dayFile(D1));
      await sink.write(toColumns([row('GARBAGE', D1, 1)]));
      await sink.reset();
      await sink.write(toColumns([row('AAA', D1, 1), row('BBB', D1, 2)]));
      await sink.write(toColumns([row('BBB', D1, 3), row('CCC', D1, 4)]));
      await sink.commit();
      expect((await stored(admin)).map((b) => [b.symbol, b.close])).toEqual([['AAA', 1], ['BBB', 3], ['CCC', 4]]);
      // bar_symbols: the committed tickers, not the reset ones (nor, below, an aborted sink's).
      expect(await store.listSymbols('1d')).toEqual(['AAA', 'BBB', 'CCC']);

      const dropped = await queue.openFile(ALL, dayFile(D2));
      await dropped.write(toColumns([row('AAA', D2, 9)]));
      await dropped.abort();
      expect(await stagingTables(admin)).toEqual([]);
      expect((await stored(admin)).filter((b) => b.day === D2)).toEqual([]);
      expect((await admin.query('SELECT COUNT(*)::int AS n FROM job_files WHERE day = $1', [D2])).rows).toEqual([{ n: 0 }]);
      await expect(dropped.write(toColumns([row('AAA', D2, 9)]))).rejects.toThrow(/committed or aborted/);
      expect(await store.listSymbols('1d')).toEqual(['AAA', 'BBB', 'CCC']);
    });
  });

  it('twenty sinks open at once on a pool of 4 write, commit and abort their files; each committed day is its own', async () => {
    await withStore([ALL], async ({ queue, admin }) => {
      const ds = days(20);
      const sinks = await Promise.all(ds.map((d) => queue.openFile(ALL, dayFile(d))));
      const files = ds.map((d, i) => allFile(ALL, dayFile(d), marketRows(d, 1500, i * 100)));
      await Promise.all(
        sinks.map(async (sink, i) => {
          const rows = marketRows(ds[i] as string, 1500, i * 100);
          for (let k = 0; k < rows.length; k += 500) await sink.write(toColumns(rows.slice(k, k + 500)));
          await (i % 5 === 4 ? sink.abort() : sink.commit());
        }),
      );
      expect(await stored(admin)).toEqual(expected(...files.filter((_, i) => i % 5 !== 4)));
      expect((await admin.query("SELECT COUNT(*)::int AS n FROM job_files WHERE state = 'done'")).rows).toEqual([{ n: 16 }]);
      expect(await stagingTables(admin)).toEqual([]);
    });
  });

  it('a second commit of a file another process finished with this ETag merges nothing', async () => {
    await withStore([ALL], async ({ queue, admin }) => {
      const file = dayFile(D1);
      const late = await queue.openFile(ALL, file);
      await late.write(toColumns([row('LATE', D1, 1)]));
      await queue.complete([allFile(ALL, file, [row('FIRST', D1, 2)])]);
      await late.commit();
      expect((await stored(admin)).map((b) => b.symbol)).toEqual(['FIRST']);
      expect(await stagingTables(admin)).toEqual([]);
    });
  });

  it("sweeps a killed process's staged rows when a queue opens, and never merges them", async () => {
    await withStore([ALL], async ({ url, admin }) => {
      const file = dayFile(D1);
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sink-child.ts', url, JSON.stringify(ALL), JSON.stringify(file), JSON.stringify([row('DEAD', D1, 1)])], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
        const { processId } = JSON.parse(line) as { processId: number };
        expect(await stagingTables(admin)).toEqual([expect.stringMatching(new RegExp(`^pmd_sink_${processId}_\\d+$`))]);
        // A queue that opens while the owner lives leaves its table alone.
        const early = await openPostgresStore(url);
        await (await early.openQueue([ALL])).close();
        await early.close();
        expect(await stagingTables(admin)).toHaveLength(1);
        child.kill('SIGKILL');
        await once(child, 'exit');
        // The kernel closes its socket; PostgreSQL ends its session and drops its lock.
        await expect
          .poll(async () => {
            const s = await openPostgresStore(url);
            await (await s.openQueue([ALL])).close();
            await s.close();
            return stagingTables(admin);
          }, { timeout: 10_000 })
          .toEqual([]);
      } finally {
        child.kill('SIGKILL');
      }
      expect(await stored(admin)).toEqual([]);
      expect((await admin.query("SELECT COUNT(*)::int AS n FROM job_files WHERE state = 'done'")).rows).toEqual([{ n: 0 }]);
    });
  });
});
