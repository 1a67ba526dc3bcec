// The Store contract, against real databases: the same behaviour tests for each implementation.
// What only a shared (PostgreSQL) store does is tested module by module: test/store/postgres/*.test.ts.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closesBefore } from '../../src/read/adjusted.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { BarValues, CompletedFile, FileNote, JobSpec, Store, StoredDayChunk, WorkItem, WorkQueue } from '../../src/store/types.js';
import type { ParsedRow } from '../../src/types.js';
import { allJob, dayRows, fromColumns, file as marketFile, names, STOCKS, toColumns } from '../fixtures/columns.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { JOB, completed, dayFile, days, row } from '../fixtures/store-jobs.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.close();
});

/** The implementations under test, each on a fresh, empty store. */
const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => openSqliteStore(await mkdtemp(join(tmpdir(), 'pmd-store-')))],
  ['postgres', async () => openPostgresStore(await server.freshDatabase())],
];

async function withStore(open: () => Promise<Store>, test: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await test(store);
  } finally {
    await store.close();
  }
}

describe.each(stores)('%s store', (_name, open) => {
  it('merges a batch, replaces a re-ingested day and never duplicates a row', async () => {
    await withStore(open, async (store) => {
      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      const [d1, d2] = days(2) as [string, string];
      const f1 = dayFile(d1);
      const f2 = dayFile(d2);
      await queue.offer(JOB, [f1, f2]);
      const claimed = await queue.claim(10);
      expect(claimed.map((c) => c.file.key)).toEqual([f1.key, f2.key]);
      // BBB has no row on d2 (a halt): its day is still recorded, with 0 rows.
      await queue.complete([completed(f1, [row('AAA', d1, 10), row('BBB', d1, 20)]), completed(f2, [row('AAA', d2, 11)])]);
      expect(await queue.counts()).toEqual({ files: 2, done: 2, claimed: 0, failed: 0, pending: 0 });
      expect(await store.readBars('AAA', '1d', d1, d2)).toEqual([
        { time: row('AAA', d1, 10).time, open: 9, high: 11, low: 8, close: 10, volume: 1000.5, transactions: 12 },
        { time: row('AAA', d2, 11).time, open: 10, high: 12, low: 9, close: 11, volume: 1000.5, transactions: 12 },
      ]);
      expect(await store.ingestedDays('BBB', '1d', d1, d2)).toEqual(new Map([[d1, f1.etag], [d2, f2.etag]]));

      // Republished d1: AAA's row changed, BBB's dropped. The day is replaced, not appended to.
      const f1b = dayFile(d1, 'etag-new');
      await queue.offer(JOB, [f1b]);
      expect((await queue.claim(10)).map((c) => c.file.etag)).toEqual(['etag-new']);
      await queue.complete([completed(f1b, [row('AAA', d1, 15), { ...row('AAA', d1, 16), transactions: null }])]);
      const aaa = await store.readBars('AAA', '1d', d1, d1);
      expect(aaa).toHaveLength(1);
      expect(aaa[0]).toMatchObject({ close: 16, transactions: null });
      expect(await store.readBars('BBB', '1d', d1, d1)).toEqual([]);
      expect((await store.doneKeys(JOB.job)).get(f1.key)).toEqual({ key: f1.key, size: 1000, etag: 'etag-new', lastModified: undefined });
      expect(await store.barRange(['AAA', 'BBB'], '1d', d1, d2)).toEqual({ first: row('AAA', d1, 0).time, last: row('AAA', d2, 0).time });
      expect(await store.barRange(['ZZZ'], '1d', d1, d2)).toBeUndefined();
      expect(await store.getJob(JOB.job)).toMatchObject({ job: JOB.job, symbols: ['AAA', 'BBB'], doneKeys: 2, bytes: 2000 });
      await queue.close();
    });
  });

  it('scans the bars of a window day by day in key order, a page of at most maxRows, no page across days', async () => {
    await withStore(open, async (store) => {
      const job: JobSpec = { ...JOB, job: 'scan', tickers: ['AAA', 'BBB', 'CCC'] };
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      const all = days(5);
      const files = all.map((d) => dayFile(d));
      await queue.offer(job, files);
      await queue.claim(10);
      // Day i holds i + 3 rows: pages of 3 fill exactly on some days and not on others.
      const rowsOf = (day: string, i: number): ParsedRow[] => Array.from({ length: i + 3 }, (_, k) => row(job.tickers[k % 3] ?? '', day, 10 + k, Math.floor(k / 3)));
      await queue.complete(files.map((f, i) => completed(f, rowsOf(f.day, i), job)));
      await queue.close();

      const [, from, , to] = all as [string, string, string, string];
      const pages: StoredDayChunk[] = [];
      for await (const page of store.scanDays('1d', from, to, 3)) pages.push(page);
      // What went in, in key order: (day, symbol, time), each as a scan row.
      const expected = all
        .flatMap((d, i) => rowsOf(d, i).map((r) => ({ day: d, r })))
        .filter(({ day }) => day >= from && day <= to)
        .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.r.ticker !== b.r.ticker ? (a.r.ticker < b.r.ticker ? -1 : 1) : a.r.time - b.r.time))
        .map(({ day, r }) => ({ day, row: [r.ticker, r.time, r.open, r.high, r.low, r.close, r.volume, r.transactions] }));
      expect(pages.flatMap((p) => p.rows.map((row) => ({ day: p.day, row })))).toEqual(expected);
      expect(pages.every((p) => p.rows.length >= 1 && p.rows.length <= 3)).toBe(true);
      expect(pages.map((p) => `${p.day}:${p.place}/${p.days}`)).toEqual([
        `${all[1]}:1/3`, `${all[1]}:1/3`,
        `${all[2]}:2/3`, `${all[2]}:2/3`,
        `${all[3]}:3/3`, `${all[3]}:3/3`,
      ]);
      expect(await store.scanDays('1m', from, to, 3)[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });

      // A range of tickers: only theirs, in key order; every day of the window has a chunk (empty when none).
      const scanned = async (range: { from?: string; to?: string }): Promise<StoredDayChunk[]> => {
        const out: StoredDayChunk[] = [];
        for await (const page of store.scanDays('1d', from, to, 3, range)) out.push(page);
        return out;
      };
      const only = (keep: (t: string) => boolean) => expected.filter(({ row }) => keep(row[0] as string));
      const rowsIn = (chunks: StoredDayChunk[]) => chunks.flatMap((p) => p.rows.map((row) => ({ day: p.day, row })));
      expect(rowsIn(await scanned({ to: 'BBB' }))).toEqual(only((t) => t < 'BBB'));
      expect(rowsIn(await scanned({ from: 'BBB' }))).toEqual(only((t) => t >= 'BBB'));
      expect(rowsIn(await scanned({ from: 'BBB', to: 'CCC' }))).toEqual(only((t) => t === 'BBB'));
      const none = await scanned({ from: 'BZZ', to: 'CCC' });
      expect(none.map((p) => `${p.day}:${p.place}/${p.days}:${p.rows.length}`)).toEqual([`${all[1]}:1/3:0`, `${all[2]}:2/3:0`, `${all[3]}:3/3:0`]);
    });
  });

  it('hands out a failed file again when a later listing offers it', async () => {
    await withStore(open, async (store) => {
      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      const [d1, d2] = days(2) as [string, string];
      await queue.offer(JOB, [dayFile(d1), dayFile(d2)]);
      const [a, b] = (await queue.claim(2)) as [WorkItem, WorkItem];
      await queue.fail(a, { code: 'ERR_INTEGRITY', message: 'MD5 mismatch' });
      await queue.complete([completed(b.file, [row('AAA', d2, 1)])]);
      expect(await queue.counts()).toEqual({ files: 2, done: 1, claimed: 0, failed: 1, pending: 0 });
      expect(await queue.remaining()).toEqual({ pending: 0, claimedByOthers: 0 });
      await queue.offer(JOB, [dayFile(d1)]);
      expect(await queue.remaining()).toEqual({ pending: 1, claimedByOthers: 0 });
      expect((await queue.claim(5)).map((c) => c.file.day)).toEqual([d1]);
      await queue.close();
    });
  });

  it('answers coverage as the union of recorded windows, and clears a job', async () => {
    await withStore(open, async (store) => {
      await store.addCoverage('AAA', '1d', '2024-01-01', '2024-01-10');
      await store.addCoverage('AAA', '1d', '2024-01-11', '2024-01-20');
      await store.addCoverage('AAA', '1d', '2024-01-11', '2024-01-20');
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-18')).toBe(true);
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-21')).toBe(false);
      expect(await store.isCovered('AAA', '1m', '2024-01-05', '2024-01-06')).toBe(false);

      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      await queue.offer(JOB, days(3).map((d) => dayFile(d)));
      const items = await queue.claim(3);
      await queue.complete(items.map((i) => completed(i.file, [row('AAA', i.file.day, 1)])));
      await queue.close();
      expect(await store.listJobs()).toHaveLength(1);
      expect(await store.clearJob(JOB.job, JOB.tickers, '1d')).toBe(3);
      expect(await store.getJob(JOB.job)).toBeUndefined();
      expect((await store.doneKeys(JOB.job)).size).toBe(0);
      expect(await store.isCovered('AAA', '1d', '2024-01-05', '2024-01-06')).toBe(false);
      expect((await store.ingestedDays('AAA', '1d', '2024-01-01', '2024-12-31')).size).toBe(0);
    });
  });

  it("stores a ticker's corporate actions whole and answers the closes before ex-dates", async () => {
    await withStore(open, async (store) => {
      const split = { ticker: 'AAA', executionDate: '2024-01-03', splitFrom: 1, splitTo: 2.5, adjustmentType: 'forward_split', historicalAdjustmentFactor: 0.4, id: 's1' };
      const dividend = {
        ticker: 'AAA', exDividendDate: '2024-01-04', cashAmount: 0.25, currency: 'USD', distributionType: 'recurring', frequency: 4,
        payDate: '2024-01-20', recordDate: '2024-01-05', declarationDate: null, splitAdjustedCashAmount: 0.25, historicalAdjustmentFactor: null, id: 'd1',
      };
      expect(await store.getActions('AAA')).toBeUndefined();
      const t0 = '2024-02-01T10:00:00.000Z';
      await store.replaceActions(new Map([['AAA', { splits: [split, { ...split, id: 's2' }], dividends: [dividend] }], ['BBB', { splits: [], dividends: [] }]]), t0);
      expect(await store.getActions('AAA')).toEqual({ splits: [split, { ...split, id: 's2' }], dividends: [dividend], fetchedAt: t0 });
      expect(await store.getActions('BBB')).toEqual({ splits: [], dividends: [], fetchedAt: t0 });
      expect(await store.actionsFetchedAt(['AAA', 'BBB', 'CCC'])).toEqual(new Map([['AAA', t0], ['BBB', t0]]));
      // A refresh replaces: the duplicate the provider dropped is gone.
      const t1 = '2024-02-02T10:00:00.000Z';
      await store.replaceActions(new Map([['AAA', { splits: [split], dividends: [] }]]), t1);
      expect(await store.getActions('AAA')).toEqual({ splits: [split], dividends: [], fetchedAt: t1 });

      // Closes: the day bar of the last session before each day, within a week.
      await store.prepareJob(JOB, { clear: false });
      const queue = await store.openQueue([JOB]);
      const [d1, d2] = ['2024-01-02', '2024-01-03'];
      await queue.offer(JOB, [dayFile(d1), dayFile(d2)]);
      const items = await queue.claim(2);
      await queue.complete(items.map((i) => completed(i.file, [row('AAA', i.file.day, i.file.day === d1 ? 40 : 16)])));
      await queue.close();
      expect(await closesBefore(store, 'AAA', ['2024-01-03', '2024-01-05', '2024-01-02', '2024-01-20'])).toEqual(
        new Map([['2024-01-03', 40], ['2024-01-05', 16]]),
      );

      // A cache of minutes only: the regular session's last minute (15:59 New York), not the evening's.
      const MINUTES = { job: 'stocks/1m/CCC', dataset: 'us_stocks_sip/minute_aggs_v1', interval: '1m' as const, tickers: ['CCC'] };
      await store.prepareJob(MINUTES, { clear: false });
      const minutes = await store.openQueue([MINUTES]);
      await minutes.offer(MINUTES, [dayFile('2024-01-08')]);
      const [item] = await minutes.claim(1);
      if (!item) throw new Error('no claim');
      await minutes.complete([completed(item.file, [row('CCC', '2024-01-08', 70, 959), row('CCC', '2024-01-08', 71, 990)], MINUTES)]);
      await minutes.close();
      expect(await closesBefore(store, 'CCC', ['2024-01-09', '2024-01-08'])).toEqual(new Map([['2024-01-09', 70]]));
    });
  });

  it("stores the whole market's actions as every stock ticker's: a ticker's newer own fetch wins, the newer of the two is its time", async () => {
    await withStore(open, async (store) => {
      const split = (ticker: string, executionDate: string, splitTo: number, id: string) => ({ ticker, executionDate, splitFrom: 1, splitTo, adjustmentType: 'forward_split', historicalAdjustmentFactor: null, id });
      const dividend = {
        ticker: 'DDD', exDividendDate: '2024-03-04', cashAmount: 0.5, currency: 'USD', distributionType: 'recurring', frequency: 4,
        payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: null, historicalAdjustmentFactor: null, id: 'd1',
      };
      const [t0, t1, t2, t3, t4] = ['2024-05-01T10:00:00.000Z', '2024-05-02T10:00:00.000Z', '2024-05-03T10:00:00.000Z', '2024-05-04T10:00:00.000Z', '2024-05-05T10:00:00.000Z'];
      expect(await store.allActionsFetchedAt()).toBeUndefined();
      // AAA fetched on its own before the market-wide listing, CCC after it started.
      await store.replaceActions(new Map([['AAA', { splits: [split('AAA', '2020-01-02', 2, 'old')], dividends: [] }]]), t0);
      await store.replaceActions(new Map([['CCC', { splits: [split('CCC', '2024-04-01', 4, 'own')], dividends: [] }]]), t2);
      await store.replaceAllActions(
        new Map([
          ['AAA', { splits: [split('AAA', '2024-02-01', 3, 'new')], dividends: [] }],
          ['CCC', { splits: [split('CCC', '2024-04-01', 5, 'listed')], dividends: [] }],
          ['DDD', { splits: [], dividends: [dividend] }],
        ]),
        t1,
      );
      expect(await store.allActionsFetchedAt()).toBe(t1);
      expect(await store.getActions('AAA')).toEqual({ splits: [split('AAA', '2024-02-01', 3, 'new')], dividends: [], fetchedAt: t1 });
      expect(await store.getActions('CCC')).toEqual({ splits: [split('CCC', '2024-04-01', 4, 'own')], dividends: [], fetchedAt: t2 });
      expect(await store.getActions('DDD')).toEqual({ splits: [], dividends: [dividend], fetchedAt: t1 });
      // Not listed: fetched, with no actions (any stock ticker, bars or not); not a stock: never fetched.
      expect(await store.getActions('ZZZ')).toEqual({ splits: [], dividends: [], fetchedAt: t1 });
      expect(await store.getActions('X:BTC-USD')).toBeUndefined();
      expect(await store.actionsFetchedAt(['AAA', 'CCC', 'ZZZ', 'X:BTC-USD', 'I:SPX'])).toEqual(new Map([['AAA', t1], ['CCC', t2], ['ZZZ', t1]]));
      expect(await store.splitsAfter('2024-01-31')).toEqual(new Map([['AAA', [split('AAA', '2024-02-01', 3, 'new')]], ['CCC', [split('CCC', '2024-04-01', 4, 'own')]]]));
      expect(await store.splitsAfter('2024-02-01')).toEqual(new Map([['CCC', [split('CCC', '2024-04-01', 4, 'own')]]]));

      // A later fetch of one ticker wins over the listing; a later listing over both.
      await store.replaceActions(new Map([['AAA', { splits: [], dividends: [] }]]), t3);
      expect(await store.getActions('AAA')).toEqual({ splits: [], dividends: [], fetchedAt: t3 });
      await store.replaceAllActions(new Map([['ZZZ', { splits: [split('ZZZ', '2024-04-10', 2, 'z')], dividends: [] }]]), t4);
      expect(await store.actionsFetchedAt(['AAA', 'CCC', 'DDD', 'ZZZ'])).toEqual(new Map([['AAA', t4], ['CCC', t4], ['DDD', t4], ['ZZZ', t4]]));
      expect(await store.getActions('CCC')).toEqual({ splits: [], dividends: [], fetchedAt: t4 });
      expect(await store.getActions('DDD')).toEqual({ splits: [], dividends: [], fetchedAt: t4 });
      expect(await store.splitsAfter('2000-01-01')).toEqual(new Map([['ZZZ', [split('ZZZ', '2024-04-10', 2, 'z')]]]));
    });
  });

  it('lists one kind of action of every fetched stock ticker, filtered, sorted and paged by the database', async () => {
    await withStore(open, async (store) => {
      const split = (ticker: string, executionDate: string, adjustmentType: string, id: string) => ({ ticker, executionDate, splitFrom: 1, splitTo: 2, adjustmentType, historicalAdjustmentFactor: null, id });
      const dividend = (ticker: string, exDividendDate: string, frequency: number | null, id: string) => ({
        ticker, exDividendDate, cashAmount: 0.5, currency: 'USD', distributionType: 'recurring', frequency,
        payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: null, historicalAdjustmentFactor: null, id,
      });
      const at = '2024-05-01T10:00:00.000Z';
      const a1 = split('AAA', '2024-02-01', 'forward_split', 'a1');
      const b1 = split('BBB', '2024-02-01', 'reverse_split', 'b1');
      const b2 = split('BBB', '2021-07-01', 'forward_split', 'b0');
      expect(await store.listActions('splits', {})).toEqual([]);
      // Fetched on their own: a stock's rows are listed, a crypto pair's (not a stock) never.
      await store.replaceActions(new Map([['BBB', { splits: [b1, b2], dividends: [] }], ['X:BTC-USD', { splits: [split('X:BTC-USD', '2024-01-01', 'forward_split', 'x')], dividends: [] }]]), at);
      expect(await store.listActions('splits', {})).toEqual([b2, b1]);
      await store.replaceAllActions(new Map([['AAA', { splits: [a1], dividends: [dividend('AAA', '2024-03-01', null, 'd1'), dividend('AAA', '2024-06-01', 4, 'd2')] }]]), at);
      // The whole market's listing stands for every stock ticker; BBB's own fetch is not newer, so it has none now.
      expect(await store.listActions('splits', {})).toEqual([a1]);
      await store.replaceActions(new Map([['BBB', { splits: [b1, b2], dividends: [dividend('BBB', '2024-03-01', 12, 'd3')] }]]), '2024-05-02T10:00:00.000Z');
      const date = { name: 'execution_date' };
      expect(await store.listActions('splits', { order: [{ column: date, desc: true }] })).toEqual([a1, b1, b2]);
      expect(await store.listActions('splits', { where: [{ column: date, op: '>=', values: ['2024-02-01'] }], order: [{ column: { name: 'adjustment_type' }, desc: true }] })).toEqual([b1, a1]);
      expect(await store.listActions('splits', { order: [{ column: date, desc: false }], page: { offset: 1, limit: 1 } })).toEqual([a1]);
      expect(await store.listActions('splits', { where: [{ column: { name: 'ticker' }, op: 'in', values: ['BBB', 'CCC'] }] })).toEqual([b2, b1]);
      // A row without the value meets no condition on it and sorts last either way, unless read as ifNull.
      const frequency = { name: 'frequency' };
      const [d1, d2, d3] = [dividend('AAA', '2024-03-01', null, 'd1'), dividend('AAA', '2024-06-01', 4, 'd2'), dividend('BBB', '2024-03-01', 12, 'd3')];
      expect(await store.listActions('dividends', { order: [{ column: frequency, desc: false }] })).toEqual([d2, d3, d1]);
      expect(await store.listActions('dividends', { order: [{ column: frequency, desc: true }] })).toEqual([d3, d2, d1]);
      expect(await store.listActions('dividends', { where: [{ column: frequency, op: '<', values: [5] }] })).toEqual([d2]);
      expect(await store.listActions('dividends', { where: [{ column: { name: 'frequency', ifNull: 0 }, op: '<', values: [5] }] })).toEqual([d1, d2]);
      await expect(store.listActions('dividends', { where: [{ column: { name: 'price' }, op: '=', values: [1] }] })).rejects.toThrow('price');
    });
  });

  it("records a republished file's changed bars as a 'revised' note (stored against new), and nothing when they did not change", async () => {
    await withStore(open, async (store) => {
      const [d1] = days(1) as [string];
      const values = ({ open, high, low, close, volume, transactions }: ParsedRow): BarValues => ({ open, high, low, close, volume, transactions });
      const revised = async () => (await store.fileFindings()).filter((f) => f.kind === 'revised').map((f) => ({ job: f.job, key: f.key, day: f.day, detail: f.detail }));
      /** Offers, claims and completes one file (through a sink when `chunks`). */
      const ingest = async (queue: WorkQueue, job: JobSpec, f: CompletedFile, opts: { chunks?: number } = {}) => {
        await queue.offer(job, [f.file]);
        await queue.claim(10);
        if (opts.chunks === undefined) return queue.complete([f]);
        const rows = fromColumns(f.columns ?? toColumns([]));
        const sink = await queue.openFile(job, f.file, { replaces: f.replaces });
        const size = Math.ceil(rows.length / opts.chunks);
        for (let i = 0; i < rows.length; i += size) await sink.write(toColumns(rows.slice(i, i + size)));
        await sink.commit(f.notes);
      };

      // A ticker job: AAA's bar changed, AAA gained one, BBB's went; the note beside the file's own.
      await store.prepareJob(JOB, { clear: false });
      const q = await store.openQueue([JOB]);
      const first = [row('AAA', d1, 10), row('BBB', d1, 20)];
      await ingest(q, JOB, completed(dayFile(d1), first));
      const again = [row('AAA', d1, 15), row('AAA', d1, 30, 5)];
      const misdated: FileNote = { kind: 'misdated', detail: { rows: 2, claimedDate: '2024-01-02' } };
      await ingest(q, JOB, { ...completed(dayFile(d1, 'etag-2'), again), notes: [misdated], replaces: true });
      expect(await revised()).toEqual([
        {
          job: JOB.job,
          key: dayFile(d1).key,
          day: d1,
          detail: { rows: 1, added: 1, removed: 1, examples: [{ ticker: 'AAA', time: row('AAA', d1, 0).time, before: values(first[0] as ParsedRow), after: values(again[0] as ParsedRow) }] },
        },
      ]);
      expect((await store.fileFindings()).map((f) => f.kind).sort()).toEqual(['misdated', 'revised']);
      // Republished again with the same bars: no revised note (the file's notes are replaced).
      await ingest(q, JOB, { ...completed(dayFile(d1, 'etag-3'), again), replaces: true });
      expect(await store.fileFindings()).toEqual([]);
      await q.close();

      // An --all job, whole files and streamed ones: every ticker of the day compared.
      const job = allJob(STOCKS);
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      const tickers = names(30);
      const base = dayRows(tickers, d1, 1);
      const all = (etag: string, rows: ParsedRow[], replaces?: boolean): CompletedFile => ({ job, file: marketFile(STOCKS, d1, etag), rows: [], columns: toColumns(rows), ...(replaces ? { replaces } : {}) });
      await ingest(queue, job, all('e1', base));
      // The stored bars of tickers 3 and 7 changed (7 only in its trades), ticker 20's went, a new ticker came.
      const changed = base
        .filter((r) => r.ticker !== 'T0020')
        .map((r) => (r.ticker === 'T0003' ? { ...r, close: r.close + 1 } : r.ticker === 'T0007' ? { ...r, transactions: null } : r))
        .concat([{ ...(base[0] as ParsedRow), ticker: 'T9999' }]);
      const expectedNote = {
        rows: 2,
        added: 1,
        removed: 1,
        examples: [3, 7].map((i) => ({ ticker: tickers[i], time: base[i]?.time, before: values(base[i] as ParsedRow), after: values(changed[i] as ParsedRow) })),
      };
      for (const [n, chunks] of [[1, undefined], [2, 4]] as const) {
        await ingest(queue, job, all(`e${n}b`, changed, true), { chunks });
        expect((await revised()).map((f) => f.detail), `chunks: ${chunks}`).toEqual([expectedNote]);
        // Back to the first version, not flagged as replacing: no comparison, no note.
        await ingest(queue, job, all(`e${n}c`, base), { chunks });
        expect(await revised()).toEqual([]);
      }
      // The new bars are what a read returns.
      await ingest(queue, job, all('e4', changed, true), { chunks: 3 });
      expect(await store.readBars('T0003', '1d', d1, d1)).toEqual([{ ...values(changed[3] as ParsedRow), time: base[3]?.time }]);
      expect(await store.readBars('T0020', '1d', d1, d1)).toEqual([]);
      await queue.close();
    });
  });

  it("compares only what the republished file replaces: its job's tickers, or its dataset's (stocks beside crypto)", async () => {
    await withStore(open, async (store) => {
      const [d1] = days(1) as [string];
      const other: JobSpec = { ...JOB, job: 'stocks/1d/CCC', tickers: ['CCC'] };
      const crypto = allJob('global_crypto/day_aggs_v1');
      const stocks = allJob(STOCKS);
      for (const job of [JOB, other, crypto, stocks]) await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([JOB, other, crypto, stocks]);
      const cryptoRows = dayRows(names(3, 'X:'), d1, 1);
      const cryptoFile = (etag: string, rows: ParsedRow[], replaces = false): CompletedFile => ({
        job: crypto,
        file: marketFile('global_crypto/day_aggs_v1', d1, etag),
        rows: [],
        columns: toColumns(rows),
        replaces,
      });
      await queue.complete([completed(dayFile(d1), [row('AAA', d1, 10), row('BBB', d1, 20)]), completed(dayFile(d1), [row('CCC', d1, 30)], other), cryptoFile('c1', cryptoRows)]);
      // CCC's bar (another job's) and the crypto day changed since: the AAA,BBB file's comparison sees neither.
      await queue.complete([completed(dayFile(d1, 'o2'), [row('CCC', d1, 31)], other), cryptoFile('c2', cryptoRows.map((r) => ({ ...r, close: r.close + 1 })))]);
      await queue.complete([{ ...completed(dayFile(d1, 'e2'), [row('AAA', d1, 10), row('BBB', d1, 20)]), replaces: true }]);
      expect((await store.fileFindings()).filter((f) => f.kind === 'revised')).toEqual([]);
      // A whole stocks day republished over the ticker jobs' bars: stocks only, never the crypto day.
      await queue.complete([{ job: stocks, file: marketFile(STOCKS, d1, 's2'), rows: [], columns: toColumns([row('AAA', d1, 10), row('BBB', d1, 21)]), replaces: true }]);
      expect((await store.fileFindings()).filter((f) => f.kind === 'revised').map((f) => [f.job, f.detail.rows, f.detail.added, f.detail.removed])).toEqual([[stocks.job, 1, 0, 1]]);
      expect(await store.readBars('X:T0000', '1d', d1, d1)).toHaveLength(1);
      await queue.close();
    });
  });
});
