// A symbol that matches no row of any file of its window is named (the report's unmatchedSymbols
// and a line of the summary), with the real CLI against s3rver; a rerun of the same job, which
// downloads nothing, does not name a symbol whose bars an earlier run stored. Both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload } from '../../src/index.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { END, json, runCli, STOCKS, startWorld, type World } from './helpers.js';

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

const START = '2026-11-02';
const window = (): number => dayFilesFor(w.ds, STOCKS, START, END).length;
const args = (cacheDir: string, ...symbols: string[]): string[] => [...symbols, '--start', START, '--end', END, '--cache-dir', cacheDir];
type Unmatched = ReturnType<typeof json> & { unmatchedSymbols?: string[] };

describe('a symbol without a row in its window (SQLite, the CLI)', () => {
  it('is named in the JSON report and the summary, exit 0, and not once its bars are stored', async () => {
    const cacheDir = w.cacheDir('unmatched');
    const first = await runCli([...args(cacheDir, 'SYNC', 'TSLA'), '--json'], w.env);
    expect(first.code).toBe(0);
    const report = json(first) as Unmatched;
    expect(report.files.downloaded).toBe(window());
    expect(report.unmatchedSymbols).toEqual(['SYNC']);

    // The same job again: every file skipped, no row read this time. TSLA's bars are in the
    // store from the first run, so only SYNC is named.
    const again = await runCli(args(cacheDir, 'SYNC', 'TSLA'), w.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`SYNC: no row in any of the ${window()} files of its window (a typo?)`);
    expect(again.stdout).not.toContain('TSLA: no row');
    expect(again.stdout).not.toContain('No symbol of this run matched a row');
    const rerun = json(await runCli([...args(cacheDir, 'SYNC', 'TSLA'), '--json'], w.env)) as Unmatched;
    expect(rerun.files).toMatchObject({ downloaded: 0, skipped: window() });
    expect(rerun.unmatchedSymbols).toEqual(['SYNC']);

    // Every symbol known: no field, no line.
    const known = await runCli([...args(cacheDir, 'TSLA', 'AAPL'), '--json'], w.env);
    expect(json(known) as Unmatched).not.toHaveProperty('unmatchedSymbols');
  });

  it('a run where no symbol matched says so, and still exits 0', async () => {
    const r = await runCli(args(w.cacheDir('unmatched-all'), 'SYNC'), w.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`SYNC: no row in any of the ${window()} files of its window (a typo?)`);
    expect(r.stdout).toContain('No symbol of this run matched a row');
  });
});

describe('a symbol without a row in its window (PostgreSQL)', () => {
  it('is named, and a rerun of the job names only it', async () => {
    const store = await db.freshDatabase();
    const o = { store, cacheDir: w.cacheDir('unmatched-pg'), endpoint: w.server.endpoint, credentials: { ...S3_CREDENTIALS }, start: START, end: END, adjust: 'none' as const };
    const first = await preload(['SYNC', 'TSLA'], o);
    expect(first.files.downloaded).toBe(window());
    expect(first.unmatchedSymbols).toEqual(['SYNC']);
    const rerun = await preload(['SYNC', 'TSLA'], o);
    expect(rerun.files).toMatchObject({ downloaded: 0, skipped: window() });
    expect(rerun.unmatchedSymbols).toEqual(['SYNC']);
    expect(rerun.unmatchedWindowFiles).toEqual({ SYNC: window() });
  });
});
