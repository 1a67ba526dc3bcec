// The log observer's parts: flag checks, the job every line names, the progress arithmetic (with a
// fake clock), masking of the options, and main() writing only JSON lines on stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { PlanEvent, ProgressEvent } from '../../src/events.js';
import { jobOfLine, jobOfPlan, loggedOptions, logSettings, ProgressMeter, progressText, reportCounts } from '../../src/cli/log.js';
import { main } from '../../src/cli/main.js';
import { parseCommandLine, UsageError } from '../../src/cli/parse.js';
import { RunStats } from '../../src/run/stats.js';

const sink = (): Writable & { text: string } => {
  const s = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => void ((s.text += chunk.toString()), done()) }), { text: '' });
  return s;
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('logSettings', () => {
  it.each([
    [[], { format: 'text', statsIntervalMs: 30_000 }],
    [['--log-format', 'json'], { format: 'json', statsIntervalMs: 30_000 }],
    [['--stats-interval', '0'], { format: 'text', statsIntervalMs: 0 }],
    [['--stats-interval', '1.5', '--log-format', 'text'], { format: 'text', statsIntervalMs: 1500 }],
  ])('%j -> %j', (args, expected) => {
    expect(logSettings(parseCommandLine(['status', ...args]).values)).toEqual(expected);
  });

  it.each([
    [['--log-format', 'xml'], 'option --log-format must be text or json, got xml'],
    [['--log-format', 'jsn'], 'option --log-format must be text or json, got jsn (did you mean json?)'],
    [['--log-format', 'JSON'], 'option --log-format must be text or json, got JSON (did you mean json?)'],
    [['--stats-interval', 'soon'], 'option --stats-interval must be a number of seconds from 0 (off) to 86400, got soon, e.g. --stats-interval 30'],
    [['--stats-interval=-1'], 'option --stats-interval must be a number of seconds from 0 (off) to 86400, got -1, e.g. --stats-interval 30'],
    [['--stats-interval', '90000'], 'option --stats-interval must be a number of seconds from 0 (off) to 86400, got 90000, e.g. --stats-interval 30'],
  ])('%j: one usage line naming the flag and the value', (args, message) => {
    expect(() => logSettings(parseCommandLine(['status', ...args]).values)).toThrow(new UsageError(message));
  });
});

describe('the job', () => {
  it('from the command line, then from the plan (a sync plans per dataset; --all; long symbol lists are cut)', () => {
    expect(jobOfLine(parseCommandLine(['tsla', 'aapl', '--interval', '5m']))).toEqual({ interval: '5m', symbols: ['TSLA', 'AAPL'] });
    expect(jobOfLine(parseCommandLine(['--all', '--dataset', 'us_indices/day_aggs_v1']))).toEqual({ dataset: 'us_indices/day_aggs_v1', interval: '1d', all: true });
    expect(jobOfLine(parseCommandLine(['sync']))).toEqual({});
    const plan = (dataset: string, symbols: string[]): PlanEvent => ({
      type: 'plan',
      jobs: [{ dataset, symbols: symbols.map((s) => ({ symbol: s, ticker: s, assetClass: 'stock' })), start: '2026-11-13', end: '2026-11-20', period: undefined, defaultPeriod: false }],
    });
    expect(jobOfPlan(plan('us_stocks_sip/minute_aggs_v1', ['TSLA']), {}, 'sync')).toEqual({ dataset: 'us_stocks_sip/minute_aggs_v1', interval: '1m', symbols: ['TSLA'] });
    expect(jobOfPlan(plan('us_stocks_sip/day_aggs_v1', ['*']), {}, 'sync')).toEqual({ dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', all: true });
    const many = Array.from({ length: 25 }, (_, i) => `S${i}`);
    const job = jobOfPlan(plan('us_stocks_sip/day_aggs_v1', many), { interval: '1d' }, 'run');
    expect(job.symbols).toEqual(many.slice(0, 20));
    expect(job.symbolCount).toBe(25);
  });
});

/** A progress event as a run emits it: its counters from zero (the run's own), then what the test sets. */
const progress = (o: Partial<ProgressEvent>): ProgressEvent => ({ type: 'progress', ...new RunStats().counts, listed: 100, listingDone: true, inFlightLimit: 20, ...o });

describe('ProgressMeter', () => {
  it('rates from the first file worked, ETA from the rest, retries and throttling as deltas between lines', () => {
    let now = 0;
    const m = new ProgressMeter(() => now);
    expect(m.take()).toBeUndefined();
    m.onProgress(progress({ skipped: 20 }));
    now = 1000;
    m.onProgress(progress({ skipped: 20, downloaded: 1, bytes: 1_000_000 }));
    now = 11_000;
    m.onProgress(progress({ skipped: 20, downloaded: 11, failed: 1, bytes: 12_000_000, retries: 5, throttled: 2 }));
    const first = m.take();
    // 12 files worked in 10 s (skipped ones are no speed): 68 left at 1.2 a second.
    expect(first).toMatchObject({ done: 32, total: 100, bytes: 12_000_000, bytesPerSecond: 1_200_000, failed: 1, retries: 5, throttled: 2 });
    expect(first?.etaMs).toBeCloseTo((68 * 10_000) / 12, 6);
    expect(m.changed).toBe(false);
    m.onProgress(progress({ skipped: 20, downloaded: 11, failed: 1, bytes: 12_000_000, retries: 7, throttled: 2 }));
    expect(m.changed).toBe(true);
    expect(m.take()).toMatchObject({ retries: 2, throttled: 0 });
    expect(m.take()).toMatchObject({ retries: 0, throttled: 0 });
  });

  it('on a shared store counts the whole job, its rate from what this process saw done', () => {
    let now = 0;
    const m = new ProgressMeter(() => now);
    const job = (done: number): ProgressEvent['job'] => ({ files: 200, done, failed: 0, claimed: 0, pending: 200 - done });
    m.onProgress(progress({ job: job(50) }));
    now = 5000;
    m.onProgress(progress({ job: job(100), downloaded: 10 }));
    now = 10_000;
    m.onProgress(progress({ job: job(150), downloaded: 20 }));
    const s = m.take();
    expect(s).toMatchObject({ done: 150, total: 200 });
    // The 50 done before this process came are no speed: 100 in the 5 s since its first one.
    expect(s?.etaMs).toBeCloseTo((50 * 5000) / 100, 6);
  });

  it('prints as one line', () => {
    const line = progressText({ done: 120, total: 1255, listingDone: true, bytes: 28.1 * 1024 ** 2, bytesPerSecond: 3.2 * 1024 ** 2, etaMs: 312_000, failed: 0, retries: 3, throttled: 1 });
    expect(line).toBe('files 120/1255 (9%), 28.1 MB, 3.2 MB/s, ETA 5m12s, retries +3, throttled +1');
    expect(progressText({ done: 3, total: 40, listingDone: false, bytes: 0, bytesPerSecond: 0, etaMs: Number.NaN, failed: 2, retries: 0, throttled: 0 })).toBe(
      'files 3/40+ (7%), 0 B, 0 B/s, ETA --, failed 2',
    );
  });
});

describe('what the start and end lines carry', () => {
  it('options with every URL password masked', () => {
    const o = loggedOptions(parseCommandLine(['TSLA', '--store', 'postgres://u:SECRETPW@db:5432/m', '--endpoint', 'https://k:SECRET2@s3.example', '--workers', '4', '--dry-run']).values);
    expect(o).toEqual({ store: 'postgres://u:***@db:5432/m', endpoint: 'https://k:***@s3.example/', workers: '4', 'dry-run': true });
  });

  it("a sync's counts are the sum of its parts", () => {
    const part = (n: number) => ({ report: { files: { listed: n, downloaded: n, skipped: 0, failed: 1 }, bytes: 10 * n, bars: n, retries: 1, throttled: 2, failures: [{}] } });
    expect(reportCounts({ parts: [part(3), part(4)], elapsedMs: 1 })).toEqual({
      parts: 2,
      files: { listed: 7, downloaded: 7, skipped: 0, failed: 2 },
      bytes: 70,
      bars: 7,
      retries: 2,
      throttled: 4,
      failures: 2,
    });
  });
});

describe('main() with --log-format json', () => {
  const parse = (text: string): Array<Record<string, unknown>> =>
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('stderr carries JSON lines only: start, the error with its code, end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-log-'));
    dirs.push(dir);
    const [stdout, stderr] = [sink(), sink()];
    const code = await main(['sync', '--cache-dir', dir, '--log-format', 'json'], { stdout, stderr, env: {} });
    expect(code).toBe(2);
    expect(stdout.text).toBe('');
    const lines = parse(stderr.text);
    expect(lines.map((l) => [l['level'], l['msg']])).toEqual([
      ['info', 'start'],
      ['error', expect.stringMatching(/^Nothing to sync/) as unknown],
      ['info', 'end'],
    ]);
    for (const l of lines) expect(l).toMatchObject({ pid: process.pid, hostname: hostname(), command: 'sync', job: {} });
    expect(lines[1]).toMatchObject({ code: 'ERR_CONFIGURATION', exitCode: 2 });
    expect(lines[1]?.['stack']).toBeUndefined();
  });

  it('a usage error is a JSON line too', async () => {
    const stderr = sink();
    const code = await main(['TSLA', '--log-format', 'json', '--perod', '1y'], { stdout: sink(), stderr, env: {} });
    expect(code).toBe(2);
    const lines = parse(stderr.text);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', code: 'ERR_USAGE', msg: 'unknown option --perod (did you mean --period?)' });
  });

  it('text: nothing more on stderr than before for a short command', async () => {
    const [stdout, stderr] = [sink(), sink()];
    const dir = mkdtempSync(join(tmpdir(), 'pmd-log-'));
    dirs.push(dir);
    expect(await main(['status', '--cache-dir', dir], { stdout, stderr, env: {} })).toBe(0);
    expect(stderr.text).toBe('');
  });
});
