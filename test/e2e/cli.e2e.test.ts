import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodStart } from '../../src/plan.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import {
  barCount,
  cachedBars,
  CRYPTO,
  doneCount,
  doneKeys,
  END,
  escapeRegExp,
  ingestedDays,
  json,
  putObject,
  runCli,
  spawnCli,
  STOCKS,
  startWorld,
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

const START_5Y = periodStart('5y', END) ?? '';

describe('preload-market-data TSLA (default 5y window)', () => {
  const cache = (): string => w.cacheDir('tsla-5y');

  it('downloads every day file once and stores every bar exactly as in the source', async () => {
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache()], w.env);
    expect(r.stderr).toContain('Auto-detected: TSLA is a stock, using 5y period');
    expect(r.code).toBe(0);

    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    expect(files.length).toBeGreaterThan(1200);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(files.length);
    for (const f of files) expect(stats.gets[f.key], f.key).toBe(1);

    const source = readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END);
    expect(cachedBars(cache(), 'TSLA')).toEqual(source);
    expect(r.stdout).toContain(`${files.length} listed, ${files.length} downloaded, 0 resumed-skipped, 0 failed`);
    expect(r.stdout).toContain(`${source.length} bars merged`);

    // A halted day has no row, yet is recorded as ingested so it is never fetched again.
    const halted = w.ds.haltedDays['TSLA']?.filter((d) => d >= START_5Y) ?? [];
    expect(halted.length).toBeGreaterThan(0);
    const ingested = ingestedDays(cache(), 'TSLA');
    expect(ingested).toHaveLength(files.length);
    for (const day of halted) expect(ingested.find((i) => i.day === day)?.rows).toBe(0);
  });

  it('a rerun of the completed job lists, downloads nothing, and says so', async () => {
    await w.server.resetStats();
    const human = await runCli(['TSLA', '--end', END, '--cache-dir', cache()], w.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Nothing to download: all \d+ files/);
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache(), '--json'], w.env);
    expect(r.code).toBe(0);
    const report = json(r);
    expect(Object.keys(report).sort()).toEqual(
      ['all', 'bars', 'barRange', 'bytes', 'dataset', 'duplicateRows', 'elapsedMs', 'end', 'failures', 'files', 'fromRawMirror', 'interval', 'malformedRows', 'notes', 'republished', 'retries', 'start', 'throttled', 'symbols'].sort(),
    );
    expect(report.files.downloaded).toBe(0);
    expect(report.files.skipped).toBe(report.files.listed);
    expect((await w.server.stats()).totalGets).toBe(0);
  });

  it('show prints cached bars without any network, as table, csv or jsonl', async () => {
    const offline = { ...w.env, MASSIVE_S3_ENDPOINT: 'http://127.0.0.1:9' };
    const last5 = readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END).slice(-5);
    const jsonl = await runCli(['show', 'TSLA', '--adjust', 'none', '--last', '5', '--format', 'jsonl', '--cache-dir', cache()], offline);
    expect(jsonl.code).toBe(0);
    expect(jsonl.stdout.trim().split('\n').map((l): unknown => JSON.parse(l))).toEqual(last5);
    const csv = await runCli(['show', 'tsla', '--adjust', 'none', '--last', '2', '--format', 'csv', '--cache-dir', cache()], offline);
    expect(csv.stdout.trim().split('\n')).toEqual([
      'time,open,high,low,close,volume,transactions',
      ...last5.slice(-2).map((b) => [new Date(b.time).toISOString(), b.open, b.high, b.low, b.close, b.volume, b.transactions].join(',')),
    ]);
    const table = await runCli(['show', 'TSLA', '--adjust', 'none', '--last', '3', '--cache-dir', cache()], offline);
    expect(table.stdout.trim().split('\n')).toHaveLength(4);
    expect(table.stdout).toMatch(/^time\s+open\s+high\s+low\s+close\s+volume\s+transactions$/m);
    const bad = await runCli(['show', 'TSLA', '--format', 'xml', '--cache-dir', cache()], offline);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('preload-market-data show: Expected --format to be one of table, csv, jsonl, got `xml`');
  });

  it('--clear-progress downloads every file again and never duplicates a bar', async () => {
    const before = barCount(cache());
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache(), '--clear-progress', '--json'], w.env);
    expect(r.code).toBe(0);
    const report = json(r);
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    expect(report.files).toEqual({ listed: files.length, downloaded: files.length, skipped: 0, failed: 0 });
    expect((await w.server.stats()).totalGets).toBe(files.length);
    expect(barCount(cache())).toBe(before);
    expect(cachedBars(cache(), 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });
});

describe('several symbols and asset classes', () => {
  it('TSLA AAPL MSFT fetch each day file once and extract all three', async () => {
    const cache = w.cacheDir('multi');
    await w.server.resetStats();
    const r = await runCli(['TSLA', 'AAPL', 'MSFT', '--start', '2026-01-01', '--end', END, '--cache-dir', cache, '--json'], w.env);
    expect(r.code).toBe(0);
    const files = dayFilesFor(w.ds, STOCKS, '2026-01-01', END);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(files.length);
    for (const f of files) expect(stats.gets[f.key]).toBe(1);
    expect(json(r).symbols).toEqual(['TSLA', 'AAPL', 'MSFT']);
    for (const t of ['TSLA', 'AAPL', 'MSFT']) {
      expect(cachedBars(cache, t)).toEqual(readSourceBars(w.ds, STOCKS, t, '2026-01-01', END));
    }
  });

  it('BTC-USD is detected as crypto and read from the crypto dataset as X:BTC-USD', async () => {
    const cache = w.cacheDir('crypto');
    const r = await runCli(['BTC-USD', '--start', '2026-09-01', '--end', END, '--cache-dir', cache, '--json'], w.env);
    expect(r.code).toBe(0);
    const report = json(r);
    expect(report.dataset).toBe(CRYPTO);
    expect(report.files.listed).toBe(dayFilesFor(w.ds, CRYPTO, '2026-09-01', END).length);
    const source = readSourceBars(w.ds, CRYPTO, 'X:BTC-USD', '2026-09-01', END);
    expect(source.length).toBeGreaterThan(60);
    expect(cachedBars(cache, 'X:BTC-USD')).toEqual(source);
  });

  it('I:SPX reads the indices dataset, whose files have no volume or transactions columns', async () => {
    const days = ['2026-11-16', '2026-11-17'];
    const ns = (day: string): string => `${BigInt(Date.parse(`${day}T05:00:00Z`)) * 1_000_000n}`;
    for (const [i, day] of days.entries()) {
      const csv = `ticker,open,close,high,low,window_start\nI:NDX,1,2,3,0.5,${ns(day)}\nI:SPX,${10 + i},11,12,9.5,${ns(day)}\n`;
      putObject(w, `us_indices/day_aggs_v1/2026/11/${day}.csv.gz`, gzipSync(csv));
    }
    const cache = w.cacheDir('index');
    const r = await runCli(['I:SPX', '--start', '2026-11-01', '--end', END, '--cache-dir', cache], w.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('I:SPX is an index, 2026-11-01 to 2026-11-20');
    expect(cachedBars(cache, 'I:SPX')).toEqual(
      days.map((day, i) => ({ time: Date.parse(`${day}T05:00:00Z`), open: 10 + i, close: 11, high: 12, low: 9.5, volume: 0, transactions: null })),
    );
  });

  it('prints the crypto default period when none is given', async () => {
    const r = await runCli(['BTC-USD', '--end', END, '--cache-dir', w.cacheDir('crypto-2y'), '--quiet'], w.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const cached = cachedBars(w.cacheDir('crypto-2y'), 'X:BTC-USD');
    expect(cached).toEqual(readSourceBars(w.ds, CRYPTO, 'X:BTC-USD', periodStart('2y', END) ?? '', END));
  });
});

describe('raw mirror and offline use', () => {
  it('--keep-raw lets a new symbol be extracted with zero GETs, and --offline works with no network', async () => {
    const cache = w.cacheDir('raw');
    const window = ['--start', '2026-09-01', '--end', END, '--cache-dir', cache];
    const files = dayFilesFor(w.ds, STOCKS, '2026-09-01', END);
    expect((await runCli(['TSLA', ...window, '--keep-raw', '--json'], w.env)).code).toBe(0);

    await w.server.resetStats();
    const aapl = await runCli(['AAPL', ...window, '--keep-raw', '--json'], w.env);
    expect(aapl.code).toBe(0);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(0);
    expect(stats.lists).toBeGreaterThan(0); // the listing is still the calendar online
    expect(json(aapl)).toMatchObject({ files: { listed: files.length, downloaded: files.length }, bytes: 0, fromRawMirror: files.length });
    expect(cachedBars(cache, 'AAPL')).toEqual(readSourceBars(w.ds, STOCKS, 'AAPL', '2026-09-01', END));

    const offline = { ...w.env, MASSIVE_S3_ENDPOINT: 'http://127.0.0.1:9' };
    const msft = await runCli(['MSFT', '--start', '2026-07-01', '--end', END, '--cache-dir', cache, '--offline'], offline);
    expect(msft.code).toBe(0);
    expect(msft.stdout).toMatch(/note: offline: 2 month\(s\) of us_stocks_sip\/day_aggs_v1 in the window have no mirrored files \(2026-07, 2026-08\)/);
    expect(cachedBars(cache, 'MSFT')).toEqual(readSourceBars(w.ds, STOCKS, 'MSFT', '2026-09-01', END));
  });
});

describe('republished files', () => {
  it('a file replaced after it was ingested is fetched again and its day replaced, not duplicated', async () => {
    const cache = w.cacheDir('republished');
    const args = ['TSLA', 'AAPL', '--start', '2026-11-01', '--end', END, '--cache-dir', cache, '--json'];
    expect((await runCli(args, w.env)).code).toBe(0);
    const files = dayFilesFor(w.ds, STOCKS, '2026-11-01', END);
    const [changed, dropped] = [files[2], files[4]];
    if (!changed || !dropped) throw new Error('not enough files');
    const ns = (day: string): string => `${BigInt(Date.parse(`${day}T05:00:00Z`)) * 1_000_000n}`;
    const header = 'ticker,volume,open,close,high,low,window_start,transactions';
    const restore = [
      putObject(w, changed.key, gzipSync(`${header}\nAAPL,1,1,1,1,1,${ns(changed.day)},1\nTSLA,42,7,8,9,6,${ns(changed.day)},5\n`)),
      // Republished without TSLA (say, a late halt correction): its bar for that day must go.
      putObject(w, dropped.key, gzipSync(`${header}\nAAPL,1,1,1,1,1,${ns(dropped.day)},1\n`)),
    ];
    await w.server.resetStats();
    const r = await runCli(args, w.env);
    for (const undo of restore) undo();
    expect(r.code).toBe(0);
    const report = json(r) as ReturnType<typeof json> & { republished: number };
    expect(report.republished).toBe(2);
    expect(report.files).toMatchObject({ downloaded: 2, skipped: files.length - 2 });
    expect(Object.keys((await w.server.stats()).gets).sort()).toEqual([changed.key, dropped.key].sort());

    const expected = readSourceBars(w.ds, STOCKS, 'TSLA', '2026-11-01', END)
      .filter((b) => b.time !== Date.parse(`${dropped.day}T05:00:00Z`))
      .map((b) => (b.time === Date.parse(`${changed.day}T05:00:00Z`) ? { ...b, volume: 42, open: 7, close: 8, high: 9, low: 6, transactions: 5 } : b));
    expect(cachedBars(cache, 'TSLA')).toEqual(expected);
    expect(cachedBars(cache, 'AAPL').filter((b) => b.time === Date.parse(`${changed.day}T05:00:00Z`))).toHaveLength(1);
  });
});

describe('integrity failures', () => {
  it('retries a short body until it clears, fails only a key that stays short, and the rerun fetches only that key', async () => {
    const cache = w.cacheDir('integrity');
    const files = dayFilesFor(w.ds, STOCKS, '2026-10-01', END);
    const flaky = files[3]?.key ?? '';
    const broken = files[7]?.key ?? '';
    await w.server.setFaults([
      { match: escapeRegExp(flaky), times: 2, kind: 'short-body' },
      { match: escapeRegExp(broken), times: -1, kind: 'short-body' },
    ]);
    const args = ['TSLA', '--start', '2026-10-01', '--end', END, '--cache-dir', cache, '--retries', '3', '--retry-delay-ms', '10', '--json'];
    const r = await runCli(args, w.env);
    await w.server.setFaults([]);
    expect(r.code).toBe(1);
    const report = json(r);
    expect(report.files).toEqual({ listed: files.length, downloaded: files.length - 1, skipped: 0, failed: 1 });
    const message: unknown = expect.stringMatching(/received \d+ bytes, the listing says \d+/);
    expect(report.failures).toEqual([{ key: broken, code: 'ERR_INTEGRITY', message }]);
    expect(report.retries).toBe(2 + 3);
    const done = doneKeys(cache);
    expect(done).toContain(flaky);
    expect(done).not.toContain(broken);

    await w.server.resetStats();
    const again = await runCli(args, w.env);
    expect(again.code).toBe(0);
    expect(json(again).files).toMatchObject({ downloaded: 1, skipped: files.length - 1, failed: 0 });
    expect((await w.server.stats()).gets).toEqual({ [broken]: 1 });
    expect(cachedBars(cache, 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', '2026-10-01', END));
  });

  it('the human summary lists each failed key with its reason and exits 1', async () => {
    const files = dayFilesFor(w.ds, STOCKS, '2026-11-01', END);
    const missing = files[1]?.key ?? '';
    await w.server.setFaults([{ match: escapeRegExp(missing), times: -1, kind: 'status', status: 404, code: 'NoSuchKey' }]);
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--start', '2026-11-01', '--end', END, '--cache-dir', w.cacheDir('404')], w.env);
    await w.server.setFaults([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED ${missing}: ${missing}: listed but not found (404 NoSuchKey) [ERR_NOT_FOUND]`);
    expect((await w.server.stats()).gets[missing]).toBe(1); // a 404 is not retried
  });
});

describe('stopping early', () => {
  it('a 403 stops the run with one message naming the dataset instead of failing every key', async () => {
    await w.server.setFaults([{ match: '^us_stocks_sip/', times: -1, kind: 'status', status: 403, code: 'AccessDenied' }]);
    await w.server.resetStats();
    const r = await runCli(['TSLA', '--start', '2026-01-01', '--end', END, '--cache-dir', w.cacheDir('403'), '--workers', '2'], w.env);
    await w.server.setFaults([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not entitled to us_stocks_sip/day_aggs_v1?');
    expect((await w.server.stats()).totalGets).toBeLessThan(10);
  });

  it('SIGINT records what is done, says how to resume, and exits 130', async () => {
    const cache = w.cacheDir('sigint');
    await w.server.setLatency(25);
    const child = spawnCli(['TSLA', '--end', END, '--cache-dir', cache, '--workers', '4'], w.env);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => doneCount(cache) >= 100, 60_000);
    child.kill('SIGINT');
    const code = await exited;
    await w.server.setLatency(0);
    expect(code).toBe(130);
    const done = doneKeys(cache).length;
    expect(stderr).toContain(`Interrupted: ${done} of `);
    expect(stderr).toContain('Run the same command again to resume');
    // Everything recorded has its bars: the rerun completes the cache exactly.
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache, '--json'], w.env);
    expect(json(r).files.skipped).toBe(done);
    expect(cachedBars(cache, 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });
});

describe('resume after the CLI is killed', () => {
  it('the rerun downloads exactly the files not recorded, and the cache ends identical', async () => {
    const cache = w.cacheDir('killed');
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    await w.server.setLatency(25);
    const child = spawnCli(['TSLA', '--end', END, '--cache-dir', cache, '--workers', '4'], w.env);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await waitFor(() => doneCount(cache) >= files.length * 0.4, 60_000);
    child.kill('SIGKILL');
    await exited;
    await w.server.setLatency(0);
    const done = doneKeys(cache);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(files.length);

    await w.server.resetStats();
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache], w.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Resuming: ${done.length} of ${files.length} files already done`);
    const stats = await w.server.stats();
    expect(stats.totalGets).toBe(files.length - done.length);
    for (const key of done) expect(stats.gets[key]).toBeUndefined();
    expect(cachedBars(cache, 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });
});

describe('nothing finished is lost on a kill -9', () => {
  it('a rerun after SIGKILL at about half downloads again at most the files that were in flight (server log)', async () => {
    const cache = w.cacheDir('kill-half');
    const files = dayFilesFor(w.ds, STOCKS, START_5Y, END);
    const inFlight = 8;
    await w.server.setLatency(20);
    await w.server.resetStats();
    const child = spawnCli(['TSLA', '--end', END, '--cache-dir', cache, '--workers', String(inFlight)], w.env);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Killed by what the server saw, not by what the store says.
    let first: Record<string, number> = {};
    const until = Date.now() + 60_000;
    while (Object.keys(first).length < files.length / 2 && Date.now() < until) {
      first = (await w.server.stats()).gets;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    first = (await w.server.stats()).gets;
    await w.server.setLatency(0);
    expect(Object.keys(first).length).toBeGreaterThan(files.length / 4);
    expect(Object.keys(first).length).toBeLessThan(files.length);

    await w.server.resetStats();
    const r = await runCli(['TSLA', '--end', END, '--cache-dir', cache, '--json'], w.env);
    expect(r.code).toBe(0);
    const second = (await w.server.stats()).gets;
    const refetched = Object.keys(second).filter((key) => first[key] !== undefined);
    // Every file is fetched, and the only ones fetched twice are those the killed run had in flight.
    expect(new Set([...Object.keys(first), ...Object.keys(second)]).size).toBe(files.length);
    expect(refetched.length).toBeLessThanOrEqual(inFlight);
    expect(cachedBars(cache, 'TSLA')).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', START_5Y, END));
  });
});

describe('usage errors', () => {
  it.each([
    [[], /expected at least one symbol/],
    [['TSLA', '--bogus'], /unknown option --bogus/],
    [['TSLA', '--workers', '0'], /--workers to be an integer from 1 to 64, got `0`/],
    [['TSLA', '--workers', '65'], /--workers .* got `65`/],
    [['TSLA', '--workers', 'abc'], /--workers .* got `abc`/],
    [['../etc'], /Invalid symbol "\.\.\/etc"/],
    [['TSLA;DROP'], /Invalid symbol "TSLA;DROP"/],
    [[''], /Invalid symbol ""/],
    [['A'.repeat(200)], /Invalid symbol "A{40}\.\.\."/],
    [['TSLA', '--period', '5x'], /--period to be one of .* got `5x`/],
    [['TSLA', '--start', '2024-13-01'], /--start to be a date YYYY-MM-DD, got `2024-13-01`/],
    [['TSLA', '--start', '2024-05-02', '--end', '2024-05-01'], /on or before/],
    [['TSLA', '--endpoint', 'not-a-url'], /--endpoint to be an http\(s\) URL, got `not-a-url`/],
  ])('%j exits 2 with one line', async (args, message) => {
    const r = await runCli([...args, '--cache-dir', w.cacheDir('usage')], w.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('shows a stack trace only with --verbose', async () => {
    const r = await runCli(['TSLA', '--workers', '0', '--verbose', '--cache-dir', w.cacheDir('usage')], w.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help'], w.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: preload-market-data <SYMBOL...>');
    const version = await runCli(['--version'], w.env);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejected credentials exit 2 and never appear in any output, even with --verbose', async () => {
    const env = { ...w.env, MASSIVE_ACCESS_KEY_ID: 'AKIDLEAKCHECK0001', MASSIVE_SECRET_ACCESS_KEY: 'SeCrEtLeAkChEcK/0002' };
    for (const extra of [['--verbose'], ['--json']]) {
      const r = await runCli(['TSLA', '--start', '2026-11-01', '--end', END, '--cache-dir', w.cacheDir('creds'), ...extra], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/rejected the credentials/);
      for (const secret of ['AKIDLEAKCHECK0001', 'SeCrEtLeAkChEcK/0002']) {
        expect(r.stdout + r.stderr).not.toContain(secret);
      }
    }
  });
});

