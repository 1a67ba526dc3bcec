// `preload-market-data check` as a user runs it: generated files with every finding kind planted
// on tickers of their own (generate.ts `defects`) beside the clean ones, stored by a real `--all`
// run on the SQLite cache and on PostgreSQL, their corporate actions stored through the store.
// What must be found is the generator's own list of what it planted, and the halted days it
// reports; the clean tickers must have nothing at warning or error level.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/index.js';
import { openStore } from '../../src/store/open.js';
import { defectActionsFixture } from '../fixtures/actions.js';
import { NAMED_STOCKS, type GeneratedDataset, type PlantedDefects } from '../fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { prepareStore, startS3Server, S3_CREDENTIALS, type S3ServerHandle } from '../fixtures/s3-server.js';
import { END, runCli, type CliResult } from './helpers.js';

/** The findings exit code (src/cli/exit.ts EXIT.findings), written out: a change to it must show here. */
const EXIT_FINDINGS = 4;
const RUN_WINDOW = ['--period', '5y', '--end', END];

let root: string;
let ds: GeneratedDataset;
let defects: PlantedDefects;
let server: S3ServerHandle;
let env: NodeJS.ProcessEnv;
let db: TestPostgres;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pmd-check-e2e-'));
  [ds, db] = await Promise.all([prepareStore({ dir: join(tmpdir(), 'pmd-test-template-defects'), endDate: END, defects: true }, join(root, 'store')), startPostgres()]);
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

/** Fills a store with an `--all` run and stores the defects' corporate actions in it. */
async function filled(where: string[], location: { cacheDir: string; store: string | undefined }): Promise<void> {
  const run = await runCli(['--all', ...RUN_WINDOW, ...where, '--json'], env);
  expect(run.code, run.stderr).toBe(0);
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
  }, 300_000);
});
