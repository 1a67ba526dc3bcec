import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/run/writer.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import type { CompletedFile, JobSpec, WorkQueue } from '../../src/store/types.js';

const job: JobSpec = { job: 'ds|1d|TSLA', dataset: 'ds', interval: '1d', tickers: ['TSLA'] };
const file = (n: number): CompletedFile => {
  const day = `2026-01-${String(n).padStart(2, '0')}`;
  return {
    job,
    file: { key: `ds/2026/01/${day}.csv.gz`, day, size: 100, etag: `e${n}`, lastModified: undefined },
    rows: [{ ticker: 'TSLA', time: Date.parse(`${day}T05:00:00Z`), open: n, high: n, low: n, close: n, volume: n, transactions: n }],
  };
};

let dir: string;
let store: SqliteStore;
let queue: WorkQueue;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-writer-'));
  store = openSqliteStore(dir);
  await store.prepareJob(job, { clear: false });
  queue = await store.openQueue();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('BatchWriter', () => {
  it('commits a file as soon as it arrives, with no timer, and groups what arrives in the same turn', async () => {
    const batches: number[] = [];
    const writer = new BatchWriter(async (batch) => {
      batches.push(batch.length);
      await queue.complete(batch);
    }, () => undefined);
    const added = [writer.add(file(1)), writer.add(file(2))];
    // One turn of the event loop later, both are done with their bars.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect((await store.doneKeys(job.job)).size).toBe(2);
    expect(batches).toEqual([2]);
    added.push(writer.add(file(3)));
    await writer.flush();
    await Promise.all(added);
    expect(batches).toEqual([2, 1]);
    expect((await store.readBars('TSLA', '1d', '2026-01-01', '2026-01-31')).map((b) => b.close)).toEqual([1, 2, 3]);
  });

  it('files arriving during a slow commit go in the next one, right after', async () => {
    const batches: string[][] = [];
    let release: () => void = () => undefined;
    const writer = new BatchWriter(async (batch) => {
      batches.push(batch.map((f) => f.file.day));
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
    }, () => undefined);
    const added = [writer.add(file(1))];
    await new Promise((r) => setImmediate(r));
    added.push(writer.add(file(2)), writer.add(file(3)));
    release();
    await writer.flush();
    await Promise.all(added);
    expect(batches).toEqual([['2026-01-01'], ['2026-01-02', '2026-01-03']]);
  });

  it('a file stays in flight until its transaction has ended', async () => {
    let release: () => void = () => undefined;
    const writer = new BatchWriter(() => new Promise<void>((r) => (release = r)), () => undefined);
    let settled = false;
    const added = writer.add(file(1)).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    release();
    await added;
    expect(settled).toBe(true);
  });

  it('a failed commit is reported once, and nothing after it is marked done', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const writer = new BatchWriter(async (batch) => {
      calls += 1;
      if (calls === 1) throw new Error('store down');
      await queue.complete(batch);
    }, (e) => errors.push(e));
    const added = [writer.add(file(1))];
    await writer.flush();
    added.push(writer.add(file(2)));
    await writer.flush();
    await Promise.all(added); // settled, not rejected: the failure went to onError
    expect(errors).toHaveLength(1);
    expect(calls).toBe(1);
    expect((await store.doneKeys(job.job)).size).toBe(0);
  });
});
