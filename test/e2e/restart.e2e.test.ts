// Three CLI processes on one job and one PostgreSQL store, and the store goes away mid-run: the
// server restarted, or one process's connections ended by an operator. Every process pauses,
// registers again and finishes; the S3 server's log and the store's own rows are the judges.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBars } from '../../src/index.js';
import { periodStart } from '../../src/plan.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { END, json, spawnCli, STOCKS, startWorld, type CliResult, type World } from './helpers.js';

let w: World;
let db: TestPostgres;
beforeAll(async () => {
  [w, db] = await Promise.all([startWorld(), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([w?.close(), db?.close()]);
});

const START_5Y = periodStart('5y', END) ?? '';
const WORKERS = 4;

interface Child {
  pid: number;
  done: Promise<CliResult>;
}

function start(args: string[]): Child {
  const child = spawnCli(args, w.env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { pid: child.pid ?? 0, done };
}

/** One statement on a connection of its own. */
async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client(url);
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `read` every 50 ms until `ok` holds of its value (up to two minutes: a loaded machine). Each test may take minutes there. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const totalGets = async () => (await w.server.stats()).totalGets;

/** The store's own record of the job: files done, and done files counted by the processes that did them. */
async function judged(store: string, files: number): Promise<void> {
  const [row] = await sql<{ done: number; all: number; counted: number }>(
    store,
    `SELECT (SELECT COUNT(*)::int FROM job_files WHERE state = 'done') AS done, (SELECT COUNT(*)::int FROM job_files) AS all,
            (SELECT SUM(files_done)::int FROM processes) AS counted`,
  );
  // Each file done once: one row each (the key is unique), and counted once over every process id.
  expect(row).toEqual({ done: files, all: files, counted: files });
}

describe('PostgreSQL restarted mid-run', () => {
  it('three processes pause, reconnect and finish: each file done once, at most the files in flight fetched again, bars exact', async () => {
    const store = await db.freshDatabase();
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    await w.server.setLatency(30);
    await w.server.resetStats();
    const args = ['TSLA', '--end', END, '--store', store, '--workers', String(WORKERS), '--json'];
    const children = [0, 1, 2].map(() => start(args));
    // Every process registered, and about a third of the job fetched.
    await until(() => sql<{ n: number }>(store, 'SELECT COUNT(*)::int AS n FROM processes').catch(() => [{ n: 0 }]), (r) => (r[0]?.n ?? 0) >= 3);
    await until(totalGets, (n) => n >= files.length / 3);
    await db.stop();
    // ~5 s away: long enough for every process to notice and wait, shorter than --store-timeout.
    const stoppedAt = await totalGets();
    await new Promise((r) => setTimeout(r, 5000));
    await db.start();
    const results = await Promise.all(children.map((c) => c.done));
    await w.server.setLatency(0);

    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(files.map((f) => f.key).sort());
    // Fetched again at most: what each process had in flight (downloading, waiting to be
    // committed, or claimed to start next), taken over by another while it was away.
    expect(stats.totalGets).toBeLessThanOrEqual(files.length + 3 * WORKERS);
    // The restart was mid-run: files were left to fetch when the server stopped.
    expect(stoppedAt).toBeLessThan(files.length);
    await judged(store, files.length);
    // Each process registered again: more process rows than processes.
    const [registered] = await sql<{ n: number }>(store, 'SELECT COUNT(*)::int AS n FROM processes');
    expect(registered?.n).toBeGreaterThan(3);
    for (const r of results) expect(json(r).failures).toEqual([]);
    expect(await readBars('TSLA', { store, start: START_5Y, end: END, adjust: 'none' })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  }, 240_000);

  it("one process's connections ended by an operator (pg_terminate_backend by application_name): it registers again and all finish", async () => {
    const store = await db.freshDatabase();
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    await w.server.setLatency(30);
    await w.server.resetStats();
    const args = ['TSLA', '--end', END, '--store', store, '--workers', String(WORKERS), '--json'];
    const [victim, ...others] = [0, 1, 2].map(() => start(args));
    if (!victim) throw new Error('no victim');
    // (Before the first process has created the tables, there are none.)
    const own = (): Promise<Array<{ id: number }>> =>
      sql<{ id: number }>(store, 'SELECT id FROM processes WHERE pid = $1 ORDER BY id', [victim.pid]).catch(() => []);
    await until(own, (rows) => rows.length === 1);
    await until(totalGets, (n) => n >= files.length / 3);
    const ended = await sql<{ ended: boolean }>(
      store,
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
      [`preload-market-data/${victim.pid}`],
    );
    // Its session and at least one pooled connection.
    expect(ended.length).toBeGreaterThanOrEqual(1);
    expect(ended.every((e) => e.ended)).toBe(true);
    // It registers again under a new id (before it finishes, or on its way out).
    const results = await Promise.all([victim, ...others].map((c) => c.done));
    await w.server.setLatency(0);

    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect((await own()).length).toBeGreaterThanOrEqual(2);
    const stats = await w.server.stats();
    expect(Object.keys(stats.gets).sort()).toEqual(files.map((f) => f.key).sort());
    // Only the victim's files in flight can have been taken over by the others.
    expect(stats.totalGets).toBeLessThanOrEqual(files.length + WORKERS);
    await judged(store, files.length);
    expect(await readBars('TSLA', { store, start: START_5Y, end: END, adjust: 'none' })).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  }, 240_000);
});
