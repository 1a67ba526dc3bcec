// Shared set-up for end-to-end tests: a real s3rver on loopback over generated flat files, and
// the real CLI run as a child process, exactly as a user runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Bar } from '../../src/index.js';
import type { GeneratedDataset } from '../fixtures/generate.js';
import { prepareStore, startS3Server, S3_CREDENTIALS, type S3ServerHandle } from '../fixtures/s3-server.js';

/** Last day of the generated data: fixed, so the data (and the 5y window ending there) never drift. */
export const END = '2026-11-20';
export const STOCKS = 'us_stocks_sip/day_aggs_v1';
export const CRYPTO = 'global_crypto/day_aggs_v1';
export const CLI = fileURLToPath(new URL('../../bin/preload-market-data.js', import.meta.url));
const TEMPLATE = join(tmpdir(), 'pmd-test-template');

export interface World {
  ds: GeneratedDataset;
  server: S3ServerHandle;
  root: string;
  /** A fresh cache directory under the world's root. */
  cacheDir(name: string): string;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** A private server over a private copy of the generated store; call `close()` in afterAll. */
export async function startWorld(opts: { latencyMs?: number } = {}): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'pmd-e2e-'));
  const ds = await prepareStore({ dir: TEMPLATE, endDate: END }, join(root, 'store'));
  const server = await startS3Server({ dir: ds.dir, ...(opts.latencyMs === undefined ? {} : { latencyMs: opts.latencyMs }) });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: root,
    MASSIVE_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    MASSIVE_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    MASSIVE_S3_ENDPOINT: server.endpoint,
  };
  const world: World = {
    ds,
    server,
    root,
    cacheDir: (name) => join(root, 'caches', name),
    env,
    // The server may have been replaced by a test (after stopping it): stop the current one.
    close: async () => {
      await world.server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return world;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A `serve --port 0 --json` child, once it has said where it listens. */
export interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `serve --port 0 --json` with `args` and waits (up to `timeoutMs`) for its line that says where it listens. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Served> {
  const child = spawnCli(['serve', '--port', '0', '--json', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = Date.now() + timeoutMs;
  while (!stdout.includes('\n')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`serve did not start:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const { url } = JSON.parse(stdout.split('\n')[0] ?? '') as { url: string };
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `--json` report of a run that must have printed one. */
export function json(r: CliResult): {
  symbols: string[];
  dataset: string;
  start: string;
  end: string;
  files: { listed: number; downloaded: number; skipped: number; failed: number };
  bytes: number;
  bars: number;
  elapsedMs: number;
  retries: number;
  failures: Array<{ key: string; code: string; message: string }>;
} {
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return JSON.parse(lines[0] ?? '') as ReturnType<typeof json>;
}

/** Reads the cache file directly (not through the library) to check what a run left behind. */
function withCache<T>(cacheDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(cacheDir, 'market-data.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export const cachedBarsAt = (cacheDir: string, symbol: string, interval: string): Bar[] =>
  withCache(cacheDir, (db) =>
    db
      .prepare<[string, string], Bar>('SELECT time, open, high, low, close, volume, transactions FROM bars WHERE symbol = ? AND interval = ? ORDER BY time')
      .all(symbol, interval),
  );

export const cachedBars = (cacheDir: string, symbol: string): Bar[] => cachedBarsAt(cacheDir, symbol, '1d');

export const barCount = (cacheDir: string): number =>
  withCache(cacheDir, (db) => (db.prepare('SELECT COUNT(*) AS n FROM bars').get() as { n: number }).n);

export const doneKeys = (cacheDir: string): string[] =>
  withCache(cacheDir, (db) => db.prepare<[], { key: string }>('SELECT key FROM progress_keys').all().map((r) => r.key));

export const ingestedDays = (cacheDir: string, symbol: string): Array<{ day: string; rows: number }> =>
  withCache(cacheDir, (db) =>
    db.prepare<[string], { day: string; rows: number }>('SELECT day, rows FROM ingested_days WHERE symbol = ? ORDER BY day').all(symbol),
  );

/**
 * Replaces (or adds) an object in the world's s3rver store, as if the provider had published it.
 * Returns a function that puts the previous object back.
 */
export function putObject(w: Pick<World, 'ds'>, key: string, body: Buffer): () => void {
  const path = join(w.ds.dir, w.ds.bucket, `${key}._S3rver_object`);
  const previous = existsSync(path) ? readFileSync(path) : undefined;
  const write = (bytes: Buffer): void => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    writeFileSync(`${path}.md5`, createHash('md5').update(bytes).digest('hex'));
  };
  write(body);
  return () => (previous === undefined ? rmSync(path) : write(previous));
}

/** Files recorded done in a cache, or 0 while the cache file does not exist yet. */
export function doneCount(cacheDir: string): number {
  try {
    return doneKeys(cacheDir).length;
  } catch {
    return 0;
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A regex source matching exactly `s` (fault rules match keys by regex). */
/**
 * The most request times (ms, sorted) that fall in any window of `ms`. A cap is judged over two
 * seconds, not one: on a loaded 2-core machine the test server's event loop can stall for a
 * couple of hundred ms, and the requests that waited in its socket queue are then stamped
 * together, bunching a well-spaced second's worth at the edge of one window. Over two seconds
 * that stall no longer fits past the limiter's 10% margin; a limiter that overshoots the cap (per
 * thread or per process instead of shared) still fails at once.
 */
export function mostInWindow(times: readonly number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[j] ?? 0) >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

export function escapeRegExp(s: string): string {
  return `^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}
