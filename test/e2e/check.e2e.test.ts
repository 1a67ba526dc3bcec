// `preload-market-data check` as a user runs it: generated files with every finding kind planted
// on tickers of their own (generate.ts `defects`) beside the clean ones, stored by a real `--all`
// run on the SQLite cache and on PostgreSQL, their corporate actions stored through the store; a
// day file republished with a changed bar and run again (as the provider may); minute files with
// a row outside its file's session on a time of the file before. What must be found is the
// generator's own list of what it planted, and the halted days it reports; the clean tickers must
// have nothing at warning or error level.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/index.js';
import { openStore } from '../../src/store/open.js';
import { defectActionsFixture } from '../fixtures/actions.js';
import { NAMED_STOCKS, type GeneratedDataset, type PlantedDefects } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { prepareStore, startS3Server, S3_CREDENTIALS, type S3ServerHandle } from '../fixtures/s3-server.js';
import { END, putObject, runCli, type CliResult } from './helpers.js';

/** The findings exit code (src/cli/exit.ts EXIT.findings), written out: a change to it must show here. */
const EXIT_FINDINGS = 4;
const RUN_WINDOW = ['--period', '5y', '--end', END];
/** The minute files: three days (the planted row is in the second and the third). */
const MINUTE_FROM = '2026-11-18';
const MINUTE_WINDOW = ['--interval', '1m', '--start', MINUTE_FROM, '--end', END];

let root: string;
let ds: GeneratedDataset;
let defects: PlantedDefects;
let server: S3ServerHandle;
let env: NodeJS.ProcessEnv;
let db: TestPostgres;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmd-check-e2e-'));
  [ds, db] = await Promise.all([prepareStore({ dir: join(tmpdir(), 'pmd-test-template-defects'), endDate: END, defects: true, minuteFrom: MINUTE_FROM, minuteTickers: 12 }, join(root, 'store')), startPostgres()]);
  if (ds.defects === undefined) throw new Error('the generator planted nothing');
  defects = ds.defects;
  server = await startS3Server({ dir: ds.dir });
  env = {
    PATH: process.env['PATH'],
    HOME: root,
    MASSIVE_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    MASSIVE_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    MASSIVE_S3_ENDPOINT: server.endpoint,
  };
  // A fresh clone generates the defects' files first.
}, 180_000);

afterAll(async () => {
  await Promise.all([server?.stop(), db?.close()]);
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The values of a day file's CSV line, as the store keeps them. */
function valuesOf(line: string): Record<string, number> {
  const [, volume, open, close, high, low, , transactions] = line.split(',').map(Number);
  return { open: open ?? NaN, high: high ?? NaN, low: low ?? NaN, close: close ?? NaN, volume: volume ?? NaN, transactions: transactions ?? NaN };
}

/**
 * Fills a store with an `--all` run, then has the provider republish the revision's day file with
 * its changed row and runs again (the file put back afterwards, for the next store); fills the
 * minute files' days with an `--all` run of them; stores the defects' corporate actions.
 */
async function filled(where: string[], location: { cacheDir: string; store: string | undefined }): Promise<void> {
  const run = await runCli(['--all', ...RUN_WINDOW, ...where, '--json'], env);
  expect(run.code, run.stderr).toBe(0);
  const { key, before, after } = defects.revision;
  const text = gunzipSync(readFileSync(join(ds.dir, ds.bucket, `${key}._S3rver_object`))).toString('latin1');
  expect(text.split('\n')).toContain(before);
  const restore = putObject({ ds }, key, gzipSync(Buffer.from(text.replace(`${before}\n`, `${after}\n`), 'latin1')));
  try {
    const again = await runCli(['--all', ...RUN_WINDOW, ...where, '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { republished: number }).republished).toBe(1);
  } finally {
    restore();
  }
  const minutes = await runCli(['--all', ...MINUTE_WINDOW, ...where, '--json'], env);
  expect(minutes.code, minutes.stderr).toBe(0);
  const store = await openStore(location);
  try {
    await store.replaceActions(defectActionsFixture(defects), new Date().toISOString());
  } finally {
    await store.close();
  }
}

function report(r: CliResult): CheckReport {
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as CheckReport;
}

/** Every planted finding is there with its ticker, kind and date; the clean tickers show only the days they missed. */
function expectPlanted(r: CheckReport): void {
  for (const p of defects.findings) {
    const hit = r.findings.some((f) => f.ticker === p.ticker && f.kind === p.kind && f.dates.includes(p.date));
    expect(hit, `planted ${JSON.stringify(p)} not found`).toBe(true);
  }
  const planted = new Set(defects.tickers);
  for (const f of r.findings) {
    if (planted.has(f.ticker) || f.ticker === '*') {
      // Nothing on a defect ticker or a file beyond what was planted there.
      expect(defects.findings.some((p) => p.ticker === f.ticker && p.kind === f.kind), JSON.stringify(f)).toBe(true);
    } else {
      // A clean ticker: only the days its series has no row on (the generator's halts).
      expect(f.kind, JSON.stringify(f)).toBe('missing-days');
    }
  }
  // The named stocks' missing days are exactly the days the generator halted them (TSLA's stored splits cause nothing).
  for (const t of NAMED_STOCKS) expect(r.findings.find((f) => f.ticker === t && f.kind === 'missing-days')?.dates ?? [], t).toEqual(haltedInside(t, '0000-01-01'));
  // The defect tickers' missing days are the days the generator left them out.
  for (const [t, days] of Object.entries(defects.absentDays)) expect(r.findings.find((f) => f.ticker === t && f.kind === 'missing-days')?.dates, t).toEqual(days);
  // The republished bar, old against new: the generator's two lines.
  const { ticker, day, before, after } = defects.revision;
  const revised = r.findings.find((f) => f.kind === 'revised-bars' && f.ticker === ticker && f.dates.includes(day));
  const examples = revised?.evidence['examples'] as Array<{ time: string; old: unknown; new: unknown }> | undefined;
  expect(examples?.map((e) => ({ old: e.old, new: e.new }))).toEqual([{ old: valuesOf(before), new: valuesOf(after) }]);
  expect(examples?.[0]?.time.slice(0, 10)).toBe(day);
}

/** The minute files' planted row under two files is found with its ticker, kind and day, and nothing else is. */
function expectMinutePlanted(r: CheckReport): void {
  expect(defects.minuteFindings.length).toBeGreaterThan(0);
  for (const p of defects.minuteFindings) {
    expect(r.findings.some((f) => f.ticker === p.ticker && f.kind === p.kind && f.dates.includes(p.date)), `planted ${JSON.stringify(p)} not found`).toBe(true);
  }
  for (const f of r.findings) expect(defects.minuteFindings.some((p) => p.ticker === f.ticker && p.kind === f.kind), JSON.stringify(f)).toBe(true);
}

/** The generator's halted days of a named stock from `start` on, between its first and last bar there (one before its first bar is no missing day). */
function haltedInside(t: string, start: string): string[] {
  const halted = new Set(ds.haltedDays[t] ?? []);
  const days = ds.files.filter((f) => f.dataset === 'us_stocks_sip/day_aggs_v1' && f.day >= start).map((f) => f.day);
  const traded = days.filter((d) => !halted.has(d));
  return days.filter((d) => halted.has(d) && d > (traded[0] ?? '') && d < (traded.at(-1) ?? ''));
}

describe('check on the SQLite cache', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = join(root, 'cache');
    await filled(['--cache-dir', cacheDir], { cacheDir, store: undefined });
  }, 300_000);

  it('finds every planted defect in one scan (--all) with its ticker, kind and date, nothing else, and exits 4', async () => {
    const r = await runCli(['check', '--all', '--json', '--cache-dir', cacheDir], env);
    expect(r.code).toBe(EXIT_FINDINGS);
    const got = report(r);
    expectPlanted(got);
    expect(got.tickers).toBe(ds.tickers['us_stocks_sip/day_aggs_v1']?.length);
    expect(got.days).toBe(ds.files.filter((f) => f.dataset === 'us_stocks_sip/day_aggs_v1').length);
  });

  it('finds the minute row stored under two minute files (--interval 1m --all), nothing else, and exits 4', async () => {
    const r = await runCli(['check', '--all', ...MINUTE_WINDOW, '--json', '--cache-dir', cacheDir], env);
    expect(r.code, r.stderr).toBe(EXIT_FINDINGS);
    expectMinutePlanted(report(r));
  });

  it('exits 0 on clean tickers with their stored splits (TSLA 3-for-1, NVDA 10-for-1, ZW 1-for-10): their halted days, as info, and nothing else', async () => {
    // From after the misdated file (a finding of every ticker's).
    const start = '2022-05-02';
    const r = await runCli(['check', 'TSLA', 'NVDA', 'ZW', 'AAPL', '--start', start, '--end', END, '--json', '--cache-dir', cacheDir], env);
    expect(r.code, r.stdout).toBe(0);
    const got = report(r);
    expect(got.findings.filter((f) => f.kind !== 'missing-days')).toEqual([]);
    for (const t of ['TSLA', 'NVDA', 'AAPL']) expect(got.findings.find((f) => f.ticker === t)?.dates ?? [], t).toEqual(haltedInside(t, start));
  });

  it('prints findings grouped by kind, with counts and examples, and the same exit code', async () => {
    const r = await runCli(['check', '--all', '--cache-dir', cacheDir], env);
    expect(r.code).toBe(EXIT_FINDINGS);
    expect(r.stdout).toMatch(/^warning split-missing: 1$/m);
    expect(r.stdout).toMatch(/^ {2}Q9SPLT /m);
    expect(r.stdout).toMatch(/^error misdated-file: 1$/m);
  });

  it('--log-format json: a start line, progress lines of the days read, an end line with what was read and found', async () => {
    const r = await runCli(['check', '--all', '--json', '--log-format', 'json', '--stats-interval', '0.01', '--cache-dir', cacheDir], env);
    expect(r.code).toBe(EXIT_FINDINGS);
    const got = JSON.parse(r.stdout) as CheckReport;
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; command: string; check?: { type: string; daysDone: number; daysTotal: number }; [k: string]: unknown });
    expect(lines.every((l) => l.command === 'check')).toBe(true);
    expect(lines[0]?.msg).toBe('start');
    expect(lines.at(-1)).toMatchObject({ msg: 'end', exitCode: EXIT_FINDINGS, tickers: got.tickers, bars: got.bars, days: got.days, findings: got.findings.length, counts: got.counts });
    const days = ds.files.filter((f) => f.dataset === 'us_stocks_sip/day_aggs_v1').length;
    const progress = lines.filter((l) => l.msg === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) expect(p.check).toMatchObject({ type: 'check-scan', daysTotal: days });
    const done = progress.map((p) => p.check?.daysDone ?? 0);
    expect(done).toEqual([...done].sort((a, b) => a - b));
  });

  it('refuses bad input with one line and exit 2: an unknown symbol, --all with symbols, an empty store, a bad date', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['check', 'NOPE', '--cache-dir', cacheDir], /NOPE/],
      [['check', '--all', 'TSLA', '--cache-dir', cacheDir], /--all/],
      [['check', '--all', '--cache-dir', join(root, 'empty')], /holds no 1d bars/],
      [['check', '--all', '--start', '2024-02-30', '--cache-dir', cacheDir], /--start/],
      [['check', '--cache-dir', cacheDir], /at least one symbol/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('check on PostgreSQL', () => {
  it('finds the same planted defects in a shared store filled by --all', async () => {
    const url = await db.freshDatabase();
    await filled(['--store', url], { cacheDir: join(root, 'unused'), store: url });
    const r = await runCli(['check', '--all', '--json', '--store', url], env);
    expect(r.code).toBe(EXIT_FINDINGS);
    const got = report(r);
    expectPlanted(got);
    expect(r.stdout).not.toContain('test-secret');
    const minutes = await runCli(['check', '--all', ...MINUTE_WINDOW, '--json', '--store', url], env);
    expect(minutes.code, minutes.stderr).toBe(EXIT_FINDINGS);
    expectMinutePlanted(report(minutes));
  }, 300_000);
});
