// Issue 28, logs: real CLI processes with stderr on a pipe (as under cron or systemd) against the
// test S3 server with faults. What the log says is judged against the server's own log of the
// requests and faults it served, and against the --json report on stdout.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { dayFilesFor } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { startRestServer, type RestServer } from '../fixtures/rest-server.js';
import { S3_CREDENTIALS } from '../fixtures/s3-server.js';
import { END, escapeRegExp, json, runCli, STOCKS, startWorld, type CliResult, type World } from './helpers.js';

const START = '2026-10-01';
const API_KEY = 'rest-key-LOGS-0123456789';

let w: World;
let rest: RestServer;
let pg: TestPostgres;
beforeAll(async () => {
  [w, rest, pg] = await Promise.all([startWorld(), startRestServer({ apiKey: API_KEY, fixtures: corporateActionsFixture() }), startPostgres()]);
});
afterAll(async () => {
  await Promise.all([rest?.close(), pg?.close(), w?.close()]);
});

interface LogLine {
  time: string;
  level: string;
  msg: string;
  pid: number;
  hostname: string;
  command: string;
  job: { dataset?: string; interval?: string; symbols?: string[]; all?: boolean };
  [field: string]: unknown;
}

/** Every stderr line, each parsed as JSON (a line that is not JSON fails the test, naming it). */
function logLines(r: CliResult): LogLine[] {
  return r.stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`a stderr line that is not JSON: ${l}\nstderr:\n${r.stderr}`);
      }
    });
}

function expectEveryField(lines: readonly LogLine[]): void {
  expect(lines.length).toBeGreaterThan(0);
  const pids = new Set(lines.map((l) => l.pid));
  expect(pids.size).toBe(1);
  for (const l of lines) {
    expect(Number.isNaN(Date.parse(l.time)), l.time).toBe(false);
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
    expect(typeof l.msg).toBe('string');
    expect(Number.isInteger(l.pid) && l.pid > 0).toBe(true);
    expect(l.hostname).toBe(hostname());
    expect(typeof l.job).toBe('object');
    expect(l.job.symbols).toEqual(['TSLA']);
    expect(l.job.interval).toBe('1d');
  }
}

const run = (cache: string, extra: string[]): Promise<CliResult> =>
  runCli(['TSLA', '--start', START, '--end', END, '--cache-dir', w.cacheDir(cache), '--retry-delay-ms', '10', ...extra], w.env);

const sum = (lines: readonly LogLine[], k: string): number => lines.reduce((n, l) => n + (typeof l[k] === 'number' ? l[k] : 0), 0);

describe('--log-format json', () => {
  it('every stderr line is JSON with time, level, msg, pid, hostname and the job; a failed, a retried and a throttled file are told as the server served them', async () => {
    const files = dayFilesFor(w.ds, STOCKS, START, END);
    const [missing, flaky, throttled, broken] = [files[3], files[7], files[11], files[15]];
    if (!missing || !flaky || !throttled || !broken) throw new Error('not enough files');
    await w.server.resetStats();
    await w.server.setFaults([
      { match: escapeRegExp(missing.key), times: -1, kind: 'status', status: 404, code: 'NoSuchKey' },
      { match: escapeRegExp(flaky.key), times: 1, kind: 'status', status: 500, code: 'InternalError' },
      { match: escapeRegExp(throttled.key), times: 1, kind: 'status', status: 503, code: 'SlowDown' },
      { match: escapeRegExp(broken.key), times: -1, kind: 'status', status: 500, code: 'InternalError' },
    ]);
    // Slow enough for several progress lines a second apart.
    await w.server.setLatency(120);
    const r = await run('json-faults', ['--workers', '1', '--retries', '3', '--json', '--log-format', 'json', '--stats-interval', '1']);
    await w.server.setLatency(0);
    await w.server.setFaults([]);
    const stats = await w.server.stats();
    expect(r.code, r.stderr).toBe(1);
    const report = json(r) as ReturnType<typeof json> & { throttled: number };
    const lines = logLines(r);
    expectEveryField(lines);
    expect(lines.every((l) => l.command === 'run')).toBe(true);
    expect(lines.slice(1).every((l) => l.job.dataset === STOCKS)).toBe(true);

    const start = lines[0];
    expect(start?.msg).toBe('start');
    expect(start?.['version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(lines.filter((l) => l.msg === 'listing')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'listing')?.['files']).toBe(files.length);

    // The files the server always refused (a 404 is not retried, a 500 is, up to --retries): one
    // line each, its key, code and message as in the report, as many attempts as GETs served.
    const failures = lines.filter((l) => l.msg === 'file failed');
    expect(failures.map((l) => l['key']).sort()).toEqual([missing.key, broken.key].sort());
    expect(report.failures.map((f) => f.key).sort()).toEqual([missing.key, broken.key].sort());
    for (const l of failures) {
      const key = String(l['key']);
      const inReport = report.failures.find((f) => f.key === key);
      expect(l).toMatchObject({ level: 'error', code: inReport?.code });
      expect(inReport?.message).toContain(String(l['message']));
      expect(l['attempts']).toBe(stats.gets[key]);
    }
    expect(stats.gets[broken.key]).toBe(4);

    // Retries and throttling: the server's count, the report's and the log's agree.
    const end = lines.at(-1);
    expect(end?.msg).toBe('end');
    expect(end).toMatchObject({ exitCode: 1, retries: report.retries, throttled: report.throttled, failures: 2 });
    expect(report.throttled).toBe(stats.errors['SlowDown']);
    expect(report.throttled).toBe(1);
    const distinctKeys = Object.keys(stats.gets).length;
    expect(distinctKeys).toBe(files.length);
    expect(report.retries).toBe(stats.totalGets - distinctKeys);
    expect(report.retries).toBeGreaterThanOrEqual(5);

    // Progress lines a second apart, retries and throttling as deltas: no line per retry, and their sum is the whole run's.
    const progress = lines.filter((l) => l.msg === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(sum(progress, 'retries')).toBe(report.retries);
    expect(sum(progress, 'throttled')).toBe(report.throttled);
    expect(progress.at(-1)?.['files']).toMatchObject({ done: files.length, total: files.length, failed: 2 });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);
  });

  it('--stats-interval 0: no progress line, in either format', async () => {
    await w.server.setLatency(60);
    const [asJson, asText] = await Promise.all([
      run('no-stats-json', ['--workers', '2', '--log-format', 'json', '--stats-interval', '0']),
      run('no-stats-text', ['--workers', '2', '--stats-interval', '0', '--quiet']),
    ]);
    await w.server.setLatency(0);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(asText.code, asText.stderr).toBe(0);
    const lines = logLines(asJson);
    expectEveryField(lines);
    expect(lines.map((l) => l.msg)).toEqual(['start', 'plan', 'listing', 'end']);
    // stdout is as without logs: the summary.
    expect(asJson.stdout).toMatch(/^TSLA from us_stocks_sip\/day_aggs_v1, 2026-10-01 to 2026-11-20\n {2}files: +\d+ listed/);
    expect(asText.stderr).toBe('');
  });

  it('sync: each line names the part it is on (dataset, interval, the symbols of its jobs)', async () => {
    const cache = w.cacheDir('sync-json');
    expect((await runCli(['TSLA', '--start', '2026-11-10', '--end', END, '--cache-dir', cache, '--quiet'], w.env)).code).toBe(0);
    const r = await runCli(['sync', '--cache-dir', cache, '--log-format', 'json'], w.env);
    expect(r.code, r.stderr).toBe(0);
    const lines = logLines(r);
    expect(lines.every((l) => l.command === 'sync' && typeof l.job === 'object')).toBe(true);
    const planAt = lines.findIndex((l) => l.msg === 'plan');
    expect(planAt).toBeGreaterThan(0);
    for (const l of lines.slice(planAt)) expect(l.job).toEqual({ dataset: STOCKS, interval: '1d', symbols: ['TSLA'] });
    expect(lines.at(-1)).toMatchObject({ msg: 'end', exitCode: 0, parts: 1 });

    // Every command logs so: an export of what the sync holds, its report on stdout unchanged.
    const out = join(w.root, 'lake-logs');
    const exported = await runCli(['export', 'TSLA', '--out', out, '--adjust', 'none', '--cache-dir', cache, '--log-format', 'json', '--json'], w.env);
    expect(exported.code, exported.stderr).toBe(0);
    const report = JSON.parse(exported.stdout) as { rows: number; files: unknown[] };
    const exportLines = logLines(exported);
    expect(exportLines.map((l) => l.msg)).toEqual(['start', 'end']);
    for (const l of exportLines) expect(l).toMatchObject({ command: 'export', job: { interval: '1d', symbols: ['TSLA'] } });
    expect(exportLines[1]).toMatchObject({ exitCode: 0, rows: report.rows, files: report.files.length });
  });

  it('an error is a JSON line with its code, level error (its stack with --verbose), and nothing else on stderr', async () => {
    const r = await runCli(['sync', '--cache-dir', w.cacheDir('empty-sync'), '--log-format', 'json', '--verbose'], w.env);
    expect(r.code).toBe(2);
    const lines = logLines(r);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_CONFIGURATION', exitCode: 2, command: 'sync' });
    expect(errors[0]?.msg).toMatch(/Nothing to sync/);
    expect(errors[0]?.['stack']).toMatch(/ConfigurationError/);
    expect(lines.at(-1)).toMatchObject({ msg: 'end', exitCode: 2 });
  });

  it('a bad --log-format or --stats-interval: one line naming it and the value, exit 2', async () => {
    const [xml, neg] = await Promise.all([
      runCli(['TSLA', '--log-format', 'xml'], w.env),
      runCli(['status', '--stats-interval', 'soon'], w.env),
    ]);
    expect(xml.code).toBe(2);
    expect(xml.stderr.trim().split('\n')).toEqual(['preload-market-data: option --log-format must be text or json, got xml']);
    expect(xml.stdout).toBe('');
    expect(neg.code).toBe(2);
    expect(neg.stderr.trim().split('\n')).toHaveLength(1);
    expect(neg.stderr).toMatch(/^preload-market-data status: option --stats-interval .*got soon/);
  });
});

describe('progress lines in text', () => {
  it('appear every --stats-interval when stderr is a pipe: files done of total, bytes, rate, ETA', async () => {
    const files = dayFilesFor(w.ds, STOCKS, START, END);
    await w.server.setLatency(120);
    const r = await run('text-stats', ['--workers', '1', '--stats-interval', '1']);
    await w.server.setLatency(0);
    expect(r.code, r.stderr).toBe(0);
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('files '));
    expect(progress.length, r.stderr).toBeGreaterThanOrEqual(2);
    for (const l of progress) expect(l).toMatch(/^files \d+\/\d+\+? \(\d+%\), [\d.]+ (B|KB|MB|GB), [\d.]+ (B|KB|MB|GB)\/s, ETA (--|[\dhms.]+)/);
    expect(progress.at(-1)).toMatch(new RegExp(`^files ${files.length}/${files.length} \\(100%\\)`));
  });
});

describe('secrets', () => {
  const S3_SECRET = S3_CREDENTIALS.secretAccessKey;
  const PG_PASSWORD = (): string => decodeURIComponent(new URL(pg.url).password);

  it('never appear on stdout or stderr, in JSON or text, from a run on a shared store with a REST key, or a store that is down', async () => {
    expect(PG_PASSWORD().length).toBeGreaterThanOrEqual(6);
    const env = { ...w.env, MASSIVE_API_KEY: API_KEY, MASSIVE_API_URL: rest.url };
    const store = await pg.freshDatabase();
    const down = 'postgres://user:SECRETPW@127.0.0.1:1/market';
    const args = ['TSLA', '--start', START, '--end', END, '--verbose'];
    const runs = [
      await runCli([...args, '--store', store, '--log-format', 'json', '--json', '--stats-interval', '1'], env),
      await runCli([...args, '--store', store, '--log-format', 'text', '--clear-progress'], env),
      await runCli([...args, '--store', down, '--store-timeout', '0', '--log-format', 'json'], env),
      await runCli([...args, '--store', down, '--store-timeout', '0'], env),
      await runCli(['status', '--store', down, '--log-format', 'json', '--verbose'], env),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 3, 3, 3]);
    // The REST key was used: the run fetched TSLA's actions with it.
    expect(rest.requests.length).toBeGreaterThan(0);
    for (const r of runs) {
      for (const secret of [S3_SECRET, API_KEY, PG_PASSWORD(), 'SECRETPW']) {
        expect(r.stdout, secret).not.toContain(secret);
        expect(r.stderr, secret).not.toContain(secret);
      }
    }
    const [shared, , downJson] = runs;
    if (!shared || !downJson) throw new Error('no runs');
    const start = logLines(shared)[0];
    expect(start?.['options']).toMatchObject({ store: expect.stringContaining(':***@') as unknown });
    const error = logLines(downJson).find((l) => l.level === 'error');
    expect(error).toMatchObject({ code: 'ERR_STORE', exitCode: 3 });
    expect(error?.msg).toContain('***');
  });
});
