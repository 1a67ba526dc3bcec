import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/store/sqlite/db.js';
import { ProgressStore } from '../../../src/store/sqlite/progress.js';

let dir: string;
let db: Db;
let store: ProgressStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-progress-'));
  db = openDatabase(dir);
  store = new ProgressStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const key = (n: number) => ({ key: `k${n}`, size: 100 + n, etag: `e${n}`, lastModified: '2024-01-01T00:00:00.000Z' });

describe('ProgressStore', () => {
  it('records done keys per job, and lists, gets and clears jobs', () => {
    store.touchJob('job-a', 'ds', '1d', ['AAPL', 'TSLA']);
    store.touchJob('job-b', 'ds', '1d', ['MSFT']);
    store.markDone('job-a', key(1));
    store.markDone('job-a', key(2));
    store.markDone('job-a', key(2)); // recording twice is harmless
    store.markDone('job-b', key(3));

    expect([...store.doneKeys('job-a').keys()].sort()).toEqual(['k1', 'k2']);
    expect(store.doneKeys('job-a').get('k1')).toEqual(key(1));
    expect(store.get('job-a')).toMatchObject({ job: 'job-a', symbols: ['AAPL', 'TSLA'], doneKeys: 2, bytes: 203 });
    expect(store.list().map((j) => j.job).sort()).toEqual(['job-a', 'job-b']);

    expect(store.clear('job-a')).toBe(2);
    expect(store.get('job-a')).toBeUndefined();
    expect(store.doneKeys('job-a').size).toBe(0);
    expect(store.get('job-b')?.doneKeys).toBe(1);
  });

  it('persists across connections (a new process sees what the last one recorded)', () => {
    store.touchJob('job', 'ds', '1d', ['TSLA']);
    store.markDone('job', key(1));
    db.close();
    db = openDatabase(dir);
    expect(new ProgressStore(db).doneKeys('job').has('k1')).toBe(true);
  });
});
