// `dryRun` on a real s3rver and a real SQLite file: judged by the server's request log (listings
// only, no GET of a data file), by the store (not created; its tables unchanged) and by the REST
// server (never asked); then a real run downloads exactly what the dry run said it would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRunSummary } from '../../src/cli/dry-run.js';
import { LOCK_FILE } from '../../src/store/sqlite/lock.js';
import { preload, sync } from '../../src/index.js';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { startRestServer, type RestServer } from '../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { END, runCli, STOCKS, startWorld, type World } from './helpers.js';

let w: World;
let rest: RestServer;
let db: TestPostgres;
beforeAll(async () => {
  [w, db, rest] = await Promise.all([startWorld(), startPostgres(), startRestServer({ apiKey: 'rest-key', fixtures: corporateActionsFixture() })]);
});
afterAll(async () => {
  await Promise.all([rest?.close(), w?.close(), db?.close()]);
});

const now = new Date('2026-11-23T18:00:00Z');
const opts = (cacheDir: string) => ({
  cacheDir,
  endpoint: w.server.endpoint,
  credentials: { ...S3_CREDENTIALS },
  apiKey: 'rest-key',
  apiEndpoint: rest.url,
  now,
});
const CACHE = 'market-data.sqlite';
const TABLES = ['progress_jobs', 'progress_keys', 'ingested_days', 'coverage', 'bar_days', 'actions_fetched'];

/** Every row of the tables a run writes (and the bar count), to compare before and after. */
function snapshot(cacheDir: string): Record<string, unknown> {
  const db = new Database(join(cacheDir, CACHE), { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, unknown> = { bars: db.prepare('SELECT COUNT(*) AS n FROM bars').get() };
    for (const t of TABLES) out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all();
    return out;
  } finally {
    db.close();
  }
}

const sumSizes = (files: ReadonlyArray<{ size: number }>): number => files.reduce((n, f) => n + f.size, 0);

describe('dryRun', () => {
  it('on a new cache: lists only, creates no store, asks the REST API nothing, and says what a run would download', async () => {
    const cacheDir = w.cacheDir('dry-new');
    const files = dayFilesFor(w.ds, STOCKS, '2026-10-01', '2026-11-20');
    await w.server.resetStats();
    const report = await preload(['TSLA', 'AAPL'], { ...opts(cacheDir), start: '2026-10-01', end: '2026-11-20', dryRun: true });
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(0);
    expect(stats.lists).toBeGreaterThan(0);
    expect(rest.requests).toHaveLength(0);
    expect(existsSync(join(cacheDir, CACHE))).toBe(false);
    expect(report).toMatchObject({
      dryRun: true,
      files: { listed: files.length, skipped: 0, downloaded: 0, failed: 0 },
      bytes: 0,
      bars: 0,
      wouldDownload: { files: files.length, bytes: sumSizes(files) },
    });
    expect(report.wouldDownload?.jobs).toEqual([
      { symbols: ['TSLA', 'AAPL'], all: false, dataset: STOCKS, start: '2026-10-01', end: '2026-11-20', listed: files.length, skipped: 0, files: files.length, bytes: sumSizes(files) },
    ]);
    expect(dryRunSummary(report)).toContain(`TSLA, AAPL from ${STOCKS}, 2026-10-01 to 2026-11-20: would download ${files.length} files (`);
  });

  it('after a partial run: skips what is done, writes nothing, and a real run then downloads exactly what it said', async () => {
    const cacheDir = w.cacheDir('dry-partial');
    await preload(['TSLA'], { ...opts(cacheDir), apiKey: undefined, start: '2026-10-01', end: '2026-10-31' });
    const done = dayFilesFor(w.ds, STOCKS, '2026-10-01', '2026-10-31');
    const todo = dayFilesFor(w.ds, STOCKS, '2026-11-01', '2026-11-20');
    const before = snapshot(cacheDir);
    const requestsBefore = rest.requests.length;

    await w.server.resetStats();
    const dry = await preload(['TSLA'], { ...opts(cacheDir), start: '2026-10-01', end: '2026-11-20', dryRun: true });
    expect((await w.server.stats()).totalGets).toBe(0);
    expect(rest.requests).toHaveLength(requestsBefore);
    expect(snapshot(cacheDir)).toEqual(before);
    expect(dry).toMatchObject({
      dryRun: true,
      files: { listed: done.length + todo.length, skipped: done.length, downloaded: 0 },
      wouldDownload: { files: todo.length, bytes: sumSizes(todo) },
    });
    expect(dryRunSummary(dry)).toContain(`would download ${todo.length} files`);
    expect(dryRunSummary(dry)).toContain(`skip ${done.length} already done`);
    // With clearProgress a run would start over: everything to download, and still nothing written.
    const over = await preload(['TSLA'], { ...opts(cacheDir), start: '2026-10-01', end: '2026-11-20', dryRun: true, clearProgress: true });
    expect(over).toMatchObject({ files: { skipped: 0 }, wouldDownload: { files: done.length + todo.length } });
    expect(snapshot(cacheDir)).toEqual(before);

    // The sync of that store, dry: the days after what is stored (and the week before), nothing fetched.
    await w.server.resetStats();
    const dSync = await sync({ ...opts(cacheDir), apiKey: undefined, dryRun: true });
    expect(dSync.dryRun).toBe(true);
    expect((await w.server.stats()).totalGets).toBe(0);
    expect(snapshot(cacheDir)).toEqual(before);
    expect(dSync.parts[0]?.report.wouldDownload?.files).toBe(todo.length);
    expect(existsSync(join(cacheDir, LOCK_FILE))).toBe(false);

    await w.server.resetStats();
    const real = await preload(['TSLA'], { ...opts(cacheDir), apiKey: undefined, start: '2026-10-01', end: '2026-11-20' });
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(todo.map((f) => f.key).sort());
    expect(real.files).toMatchObject({ downloaded: dry.wouldDownload?.files, skipped: dry.files.skipped });
    expect(real.bytes).toBe(dry.wouldDownload?.bytes);
    expect(real.dryRun).toBeUndefined();
  });
});

describe('--dry-run, the CLI', () => {
  it('prints what a run and a sync would download, GETs nothing and creates no cache; --json carries it', async () => {
    const cacheDir = w.cacheDir('dry-cli');
    const start = '2026-11-02';
    const files = dayFilesFor(w.ds, STOCKS, start, END);
    const args = ['TSLA', '--start', start, '--end', END, '--cache-dir', cacheDir, '--dry-run'];
    await w.server.resetStats();
    const human = await runCli(args, w.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Dry run: nothing downloaded, nothing recorded.');
    expect(human.stdout).toContain(`TSLA from ${STOCKS}, ${start} to ${END}: would download ${files.length} files (`);
    const asJson = await runCli([...args, '--json'], w.env);
    expect(asJson.code).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ dryRun: true, files: { listed: files.length, skipped: 0 }, wouldDownload: { files: files.length, bytes: sumSizes(files) } });
    expect((await w.server.stats()).totalGets).toBe(0);
    expect(existsSync(join(cacheDir, CACHE))).toBe(false);

    // A sync after a real run of the first days: the days since, in the human summary.
    expect((await runCli(['TSLA', '--start', start, '--end', '2026-11-10', '--cache-dir', cacheDir, '--quiet'], w.env)).code).toBe(0);
    const before = snapshot(cacheDir);
    await w.server.resetStats();
    const dSync = await runCli(['--cache-dir', cacheDir, 'sync', '--dry-run', '--json'], w.env);
    expect(dSync.code).toBe(0);
    expect(JSON.parse(dSync.stdout)).toMatchObject({ dryRun: true });
    expect((await w.server.stats()).totalGets).toBe(0);
    expect(snapshot(cacheDir)).toEqual(before);
  });
});

describe('dryRun on a PostgreSQL store', () => {
  const PG_TABLES = ['jobs', 'job_files', 'processes', 'ingested_days', 'coverage', 'rate_limits'];

  async function pgSnapshot(url: string): Promise<Record<string, unknown>> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const out: Record<string, unknown> = { bars: (await client.query('SELECT COUNT(*)::int AS n FROM bars')).rows };
      for (const t of PG_TABLES) out[t] = (await client.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows;
      return out;
    } finally {
      await client.end();
    }
  }

  it('writes no job, file or process row, and a real run then downloads what it said', async () => {
    const store = await db.freshDatabase();
    const o = { ...opts(w.cacheDir('dry-pg')), apiKey: undefined, store };
    await preload(['TSLA'], { ...o, start: '2026-10-01', end: '2026-10-31' });
    const todo = dayFilesFor(w.ds, STOCKS, '2026-11-01', '2026-11-20');
    const before = await pgSnapshot(store);

    await w.server.resetStats();
    const dry = await preload(['TSLA'], { ...o, start: '2026-10-01', end: '2026-11-20', dryRun: true });
    expect((await w.server.stats()).totalGets).toBe(0);
    expect(await pgSnapshot(store)).toEqual(before);
    expect(dry.wouldDownload).toMatchObject({ files: todo.length, bytes: sumSizes(todo) });
    expect(dry).not.toHaveProperty('job');

    await w.server.resetStats();
    const real = await preload(['TSLA'], { ...o, start: '2026-10-01', end: '2026-11-20' });
    expect(Object.keys((await w.server.stats()).gets).sort()).toEqual(todo.map((f) => f.key).sort());
    expect(real.bytes).toBe(dry.wouldDownload?.bytes);
  });
});
