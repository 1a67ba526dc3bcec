// Issue 5: the network, the server, the user and the machine misbehave; nothing is lost.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preload, type PreloadEvent } from '../../src/index.js';
import { CSV_HEADER, dayFilesFor } from '../fixtures/generate.js';
import { S3_CREDENTIALS, startS3Server, type FaultRule } from '../fixtures/s3-server.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import {
  cachedBars,
  doneCount,
  doneKeys,
  END,
  ingestedDays,
  json,
  putObject,
  runCli,
  spawnCli,
  STOCKS,
  startWorld,
  mostInWindow,
  waitFor,
  type World,
} from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const now = new Date('2026-11-23T18:00:00Z');

describe('throttling and rate caps', () => {
  it('halves the downloads in flight while 503 SlowDown keeps coming, climbs back, and finishes', async () => {
    const limits: number[] = [];
    await w.server.setFaults([{ match: '^us_stocks_sip/', times: 120, kind: 'status', status: 503, code: 'SlowDown' }]);
    const report = await preload('TSLA', {
      cacheDir: w.cacheDir('throttle'),
      endpoint: w.server.endpoint,
      credentials: { ...S3_CREDENTIALS },
      start: '2025-11-01',
      end: END,
      now,
      retries: 12,
      retryDelayMs: 10,
      onProgress: (e: PreloadEvent) => {
        if (e.type === 'progress') limits.push(e.inFlightLimit);
      },
    });
    await w.server.setFaults([]);
    const files = dayFilesFor(w.ds, STOCKS, '2025-11-01', END);
    expect(report.files).toEqual({ listed: files.length, downloaded: files.length, skipped: 0, failed: 0 });
    expect(report.retries).toBeGreaterThanOrEqual(120);
    // Every SlowDown the server sent, counted once (the server stops after its 120).
    expect(report.throttled).toBe(120);
    const lowest = Math.min(...limits);
    expect(lowest).toBeLessThanOrEqual(5);
    expect(limits.at(-1)).toBeGreaterThan(lowest);
  });

  it('20 downloads retrying on one thread print no listener warning (the CLI as a host app)', async () => {
    await w.server.setFaults([{ match: '^us_stocks_sip/', times: 200, kind: 'status', status: 503, code: 'SlowDown' }]);
    const args = ['TSLA', '--start', '2025-11-01', '--end', END, '--cache-dir', w.cacheDir('one-thread-storm'), '--threads', '1', '--workers', '20'];
    const r = await runCli([...args, '--retries', '12', '--retry-delay-ms', '10', '--json'], w.env);
    await w.server.setFaults([]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { throttled: number }).throttled).toBe(200);
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning|Warning/);
  });

  it('--max-rps is never exceeded over any two seconds of the server log, across all threads', async () => {
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--start', '2026-08-01', '--end', END, '--cache-dir', w.cacheDir('rps'), '--max-rps', '40', '--json'], w.env);
    expect(r.code).toBe(0);
    const times = (await w.server.stats()).requestTimes.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(80);
    expect(mostInWindow(times, 2000)).toBeLessThanOrEqual(2 * 40);
    const worst = mostInWindow(times, 1000);
    // And the cap is not a crawl: half the cap leaves room for a loaded 2-core machine (a limiter
    // that over-throttles, e.g. spacing slots per thread instead of per process, gives 40/threads).
    expect(worst).toBeGreaterThanOrEqual(20);
  });
});

describe('data quirks', () => {
  it('deduplicates, counts malformed rows, stores a misdated row under its file day, fails non-gzip and empty files with a reason, and keeps going', async () => {
    const files = dayFilesFor(w.ds, STOCKS, '2026-11-02', END);
    const [dup, missing, offDay, notGzip, empty] = files;
    if (!dup || !missing || !offDay || !notGzip || !empty) throw new Error('not enough files');
    const ns = (day: string): string => `${BigInt(Date.parse(`${day}T05:00:00Z`)) * 1_000_000n}`;
    const csv = (...rows: string[]): Buffer => gzipSync(`${[CSV_HEADER, ...rows].join('\n')}\n`);
    const restore = [
      putObject(w, dup.key, csv(`AAPL,5,1,1,1,1,${ns(dup.day)},3`, `TSLA,100.5,1,2,3,0.5,${ns(dup.day)},7`, `TSLA,200.25,4,5,6,3.5,${ns(dup.day)},9`)),
      putObject(w, missing.key, csv(`TSLA,100,,2,3,1,${ns(missing.day)},7`)),
      putObject(w, offDay.key, csv(`TSLA,100,1,2,3,1,${ns('2026-01-05')},7`)),
      putObject(w, notGzip.key, Buffer.from('ticker,volume\nTSLA,1\n')),
      putObject(w, empty.key, Buffer.alloc(0)),
    ];
    const cache = w.cacheDir('quirks');
    const r = await runCli(['TSLA', '--start', '2026-11-02', '--end', END, '--cache-dir', cache, '--json'], w.env);
    for (const undo of restore) undo();
    expect(r.code).toBe(1);
    const report = json(r) as ReturnType<typeof json> & { malformedRows: number; duplicateRows: number; misdatedFiles?: unknown[] };
    expect(report.malformedRows).toBe(1);
    // The day file is the calendar: a row claiming another day is stored under the file's, and named.
    expect(report.misdatedFiles).toEqual([{ key: offDay.key, day: offDay.day, rows: 1, claimedDate: '2026-01-05' }]);
    expect(report.duplicateRows).toBe(1);
    expect(report.failures.map((f) => [f.key, f.code])).toEqual(
      expect.arrayContaining([
        [notGzip.key, 'ERR_PARSE'],
        [empty.key, 'ERR_PARSE'],
      ]),
    );
    expect(report.failures).toHaveLength(2);
    expect(report.files.downloaded).toBe(files.length - 2);
    const bars = cachedBars(cache, 'TSLA');
    expect(bars.find((b) => b.time === Date.parse(`${dup.day}T05:00:00Z`))).toEqual({
      time: Date.parse(`${dup.day}T05:00:00Z`),
      open: 4,
      close: 5,
      high: 6,
      low: 3.5,
      volume: 200.25,
      transactions: 9,
    });
    expect(bars.find((b) => b.time === Date.parse(`${offDay.day}T05:00:00Z`))).toMatchObject({ open: 1, close: 2, high: 3, low: 1, volume: 100 });
    const untouched = files.slice(5).map((f) => f.day);
    expect(bars.filter((b) => b.time > Date.parse(`${empty.day}T23:59:59Z`))).toEqual(
      readSourceBars(w.ds, STOCKS, 'TSLA', untouched[0] ?? END, END),
    );
  });
});

describe('crashes', () => {
  it('survives 20 SIGKILLs at random moments; the cache ends equal to a clean run, row for row', async () => {
    const start = '2025-09-01';
    const args = (cache: string): string[] => ['TSLA', 'AAPL', '--start', start, '--end', END, '--cache-dir', cache, '--workers', '8'];
    const cache = w.cacheDir('kills');
    await w.server.setLatency(5);
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20; i++) {
      const child = spawnCli(args(cache), w.env);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Spread over start-up, listing, downloading and merging: 0.1 s to 2 s after the start.
      await new Promise((r) => setTimeout(r, 100 + random() * 1900));
      child.kill('SIGKILL');
      await exited;
      assertNoKeyWithoutBars(cache);
    }
    await w.server.setLatency(0);
    const last = await runCli([...args(cache), '--json'], w.env);
    expect(last.code).toBe(0);
    const clean = w.cacheDir('kills-clean');
    expect((await runCli(args(clean), w.env)).code).toBe(0);
    expect(dumpBars(cache)).toEqual(dumpBars(clean));
    expect(cachedBars(cache, 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', start, END));
  });

  it('two processes preloading the same symbol into the same cache both finish, and the cache is right', async () => {
    const cache = w.cacheDir('twins');
    const [a, b] = await Promise.all([
      runCli(['MSFT', '--start', '2026-03-01', '--end', END, '--cache-dir', cache, '--json'], w.env),
      runCli(['MSFT', '--start', '2026-03-01', '--end', END, '--cache-dir', cache, '--json'], w.env),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(cachedBars(cache, 'MSFT')).toEqual(readSourceBars(w.ds, STOCKS, 'MSFT', '2026-03-01', END));
  });
});

describe('bad input and environment', () => {
  it.each([
    [['TSLA', '--max-rps', '0'], /--max-rps to be a number of requests per second above 0, got `0`/],
    [['TSLA', '--max-rps', 'fast'], /--max-rps .* got `fast`/],
    [['TSLA', '--timeout-ms', '5'], /--timeout-ms .* got `5`/],
    [['TSLA', '--region', 'eu west'], /Expected --region to be a region name like us-east-1 .*, got `eu west` \(string\)/],
  ])('%j exits 2 with one line', async (args, message) => {
    const r = await runCli([...args, '--cache-dir', w.cacheDir('bad')], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a cache directory that cannot be written exits 2 naming it', async () => {
    // A regular file where the cache directory's parent should be: unwritable even for root.
    const file = join(w.root, 'not-a-dir');
    writeFileSync(file, '');
    const r = await runCli(['TSLA', '--cache-dir', join(file, 'cache')], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cache directory .*not-a-dir\/cache is not writable/);
  });

  it('no credentials at all exits 2 and says which variables to set', async () => {
    const env = { PATH: process.env['PATH'], HOME: w.root, AWS_EC2_METADATA_DISABLED: 'true', MASSIVE_S3_ENDPOINT: w.server.endpoint };
    const r = await runCli(['TSLA', '--cache-dir', w.cacheDir('nocreds')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No S3 credentials: set MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY/);
  });

  it('credentials never appear in the output of a successful --verbose or --json run', async () => {
    for (const extra of ['--verbose', '--json']) {
      const r = await runCli(['TSLA', '--start', '2026-11-01', '--end', END, '--cache-dir', w.cacheDir('leak'), extra], w.env);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(S3_CREDENTIALS.secretAccessKey);
    }
  });
});

describe('temporary credentials from the AWS default chain', () => {
  /**
   * A profile whose `credential_process` (the AWS CLI's protocol) issues numbered sets living
   * `lifetimeMs`: session token `tok-<n>-exp=<ms>`, as the test server's `expiring-tokens` rule
   * reads it. From set `failFrom` on, the process fails instead. No MASSIVE_* key pair in the env.
   */
  function chainWorld(name: string, lifetimeMs: number, failFrom = Infinity): { env: NodeJS.ProcessEnv; issued: () => number } {
    const dir = join(w.root, 'aws', name);
    mkdirSync(dir, { recursive: true });
    const counter = join(dir, 'issued');
    const script = join(dir, 'credentials.cjs');
    writeFileSync(
      script,
      [
        "const fs = require('node:fs');",
        `const counter = ${JSON.stringify(counter)};`,
        "const n = (fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) : 0) + 1;",
        'fs.writeFileSync(counter, String(n));',
        `if (n >= ${failFrom}) { process.stderr.write('no more credentials'); process.exit(1); }`,
        `const expires = Date.now() + ${lifetimeMs};`,
        "process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: 'S3RVER', SecretAccessKey: 'S3RVER', SessionToken: `tok-${n}-exp=${expires}`, Expiration: new Date(expires).toISOString() }));",
      ].join('\n'),
    );
    const config = join(dir, 'config');
    writeFileSync(config, `[profile preload-test]\ncredential_process = ${process.execPath} ${script}\n`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: dir,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials-file'),
      AWS_PROFILE: 'preload-test',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      MASSIVE_S3_ENDPOINT: w.server.endpoint,
    };
    return { env, issued: () => (existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0) };
  }
  const setNumber = (token: string): number => Number(/^tok-(\d+)-/.exec(token)?.[1]);

  it('a run several times longer than the first credentials live completes: every thread signs with fresh ones before they expire', async () => {
    const { env, issued } = chainWorld('expiring', 1_500);
    // STS's part: a token is refused once past its expiry, on the listing and the GETs alike.
    const expiring: FaultRule[] = [
      { match: '.', times: -1, kind: 'expiring-tokens' },
      { match: '.', times: -1, kind: 'expiring-tokens', listing: true },
    ];
    await w.server.setFaults(expiring);
    await w.server.setLatency(40);
    await w.server.resetStats();
    try {
      const r = await runCli(['TSLA', '--start', '2026-01-01', '--end', END, '--cache-dir', w.cacheDir('chain-expiring'), '--workers', '2', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const report = json(r);
      expect(report.failures).toEqual([]);
      expect(report.files.downloaded).toBe(dayFilesFor(w.ds, STOCKS, '2026-01-01', END).length);
      const stats = await w.server.stats();
      const sets = Object.keys(stats.tokens).map(setNumber).sort((a, b) => a - b);
      // The run outlived the first set by far: requests kept coming after it expired, signed with
      // later sets, each asked of the chain once by the main thread and used by both threads.
      const firstExpiry = Number(/exp=(\d+)/.exec(Object.keys(stats.tokens).find((t) => setNumber(t) === 1) ?? '')?.[1]);
      expect(Math.max(...stats.requestTimes)).toBeGreaterThan(firstExpiry);
      expect(sets.length).toBeGreaterThanOrEqual(3);
      expect(sets).toEqual(sets.map((_, i) => i + 1));
      // At most the last set issued went unused (asked for as the run ended).
      expect(issued() - sets.length).toBeLessThanOrEqual(1);
      expect(r.stdout + r.stderr).not.toMatch(/tok-\d/);
    } finally {
      await w.server.setLatency(0);
      await w.server.setFaults([]);
    }
  });

  it.each([
    ['the GETs', false],
    ['the listing', true],
  ])('a session token refused early (ExpiredToken) on %s is renewed once, and the run completes', async (_name, listing) => {
    const { env, issued } = chainWorld(`revoked-${listing}`, 3_600_000);
    await w.server.setFaults([{ match: '.', times: -1, kind: 'status', status: 400, code: 'ExpiredToken', token: '^tok-1-', listing }]);
    await w.server.resetStats();
    try {
      const r = await runCli(['TSLA', '--start', '2026-09-01', '--end', END, '--cache-dir', w.cacheDir(`chain-revoked-${listing}`), '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(json(r).failures).toEqual([]);
      const stats = await w.server.stats();
      expect(stats.errors['ExpiredToken']).toBeGreaterThan(0);
      // However many requests met the refusal at once, the chain was asked once more.
      expect(issued()).toBe(2);
      expect(Object.keys(stats.tokens).map(setNumber).sort()).toEqual([1, 2]);
    } finally {
      await w.server.setFaults([]);
    }
  });

  it('a chain that has no fresh credentials stops the run with one line (exit 2), no key material in it', async () => {
    const { env, issued } = chainWorld('exhausted', 3_600_000, 2);
    await w.server.setFaults([{ match: '.', times: -1, kind: 'status', status: 400, code: 'ExpiredToken', token: '^tok-1-' }]);
    try {
      const r = await runCli(['TSLA', '--start', '2026-09-01', '--end', END, '--cache-dir', w.cacheDir('chain-exhausted'), '--quiet'], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^preload-market-data: .*the session token of the temporary S3 credentials has expired \(ExpiredToken\), and no fresh ones/)]);
      expect(r.stdout + r.stderr).not.toMatch(/tok-\d|S3RVER/);
      // One refresh, however many downloads met the refusal: the SDK's chain runs a failing
      // credential_process twice (its ini provider, then its process provider).
      expect(issued()).toBe(3);
    } finally {
      await w.server.setFaults([]);
    }
  });
});

describe('the endpoint goes down (run last: it stops the server)', () => {
  it('an endpoint refusing connections from the start stops the run within seconds', async () => {
    const started = Date.now();
    const r = await runCli(['TSLA', '--cache-dir', w.cacheDir('down'), '--endpoint', 'http://127.0.0.1:9'], w.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot reach the S3 endpoint \(ECONNREFUSED\)/);
    // Seconds, not the minutes that retrying every file would take; the margin is for a loaded machine.
    expect(Date.now() - started).toBeLessThan(45_000);
  });

  it('mid-run, the circuit breaker stops the run, keeps the progress, and the rerun completes', async () => {
    const cache = w.cacheDir('outage');
    await w.server.setLatency(20);
    const child = spawnCli(['TSLA', '--end', END, '--cache-dir', cache, '--workers', '4'], w.env);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => doneCount(cache) >= 150, 60_000);
    await w.server.stop();
    const downAt = Date.now();
    const code = await exited;
    expect(code).toBe(1);
    expect(Date.now() - downAt).toBeLessThan(45_000);
    expect(stderr).toContain('Cannot reach the S3 endpoint');
    const kept = doneKeys(cache).length;

    w.server = await startS3Server({ dir: w.ds.dir });
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache, '--endpoint', w.server.endpoint, '--json'], w.env);
    expect(r.code).toBe(0);
    expect(json(r).files.skipped).toBe(kept);
    // The breaker stopped the run early: the rerun had files left to download.
    expect(json(r).files.downloaded).toBe(json(r).files.listed - kept);
    expect(kept).toBeLessThan(json(r).files.listed);
    expect(ingestedDays(cache, 'TSLA').length).toBe(json(r).files.listed);
  });
});

/** No key is recorded done unless every symbol of its job has that day ingested with its bars. */
function assertNoKeyWithoutBars(cache: string): void {
  let done: string[];
  try {
    done = doneKeys(cache);
  } catch {
    return; // killed before the cache file existed
  }
  for (const symbol of ['TSLA', 'AAPL']) {
    const ingested = new Map(ingestedDays(cache, symbol).map((d) => [d.day, d.rows]));
    const barDays = new Set(cachedBars(cache, symbol).map((b) => new Date(b.time).toISOString().slice(0, 10)));
    for (const key of done) {
      const day = key.slice(-17, -7);
      expect(ingested.has(day), `${symbol} ${day}`).toBe(true);
      if ((ingested.get(day) ?? 0) > 0) expect(barDays.has(day), `${symbol} bar ${day}`).toBe(true);
    }
  }
}

function dumpBars(cache: string): unknown[] {
  const db = new Database(join(cache, 'market-data.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM bars ORDER BY symbol, interval, time').all();
  } finally {
    db.close();
  }
}

