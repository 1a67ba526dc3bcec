/**
 * The `check` scenario: `check --all` over a whole-market store (the bench's 5y of daily files,
 * ~11k tickers a file), beside the `--all` run that filled it (all.ts's row, the same run), round
 * by round: the bar is check in under half that run's wall, under 500 MB peak RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { cliEnv, measure } from '../lib/measure.js';
import type { Context, Row, Sample, Workload } from '../lib/types.js';
import { runAll } from './all.js';

export const CHECK_ROWS = {
  fill: 'check: --all 5y daily, SQLite (fills the store)',
  check: 'check: check --all on that store',
} as const;

/** What `check --all --json` prints that the row reads. */
interface CheckReport {
  tickers: number;
  bars: number;
  days: number;
  findings: unknown[];
}

/**
 * Two rows run one after the other in each round: the `--all` run keeps its cache, `check --all`
 * reads it (a child process: its wall, CPU and peak RSS from the kernel's rusage), then the cache
 * goes. Each round fills a fresh store, so every check reads a store just written, as after a run.
 */
export function checkRows(ctx: Context): Row[] {
  const daily: Workload = { bucket: ctx.bucket, expected: ctx.expected, keysFile: ctx.keysFile, args: ['--period', '5y'], mbps: 0 };
  let filled: { dir: string; rows: number } | undefined;
  return [
    {
      name: CHECK_ROWS.fill,
      scenario: 'check',
      floor: CHECK_ROWS.fill,
      run: async () => {
        if (filled !== undefined) rmSync(filled.dir, { recursive: true, force: true });
        const dir = mkdtempSync(path.join(ctx.tmp, 'check-'));
        const sample = await runAll(ctx, daily, [], [ctx.server.endpoint], [], [dir]);
        filled = { dir, rows: sample.extra?.['rows'] ?? 0 };
        return sample;
      },
    },
    {
      name: CHECK_ROWS.check,
      scenario: 'check',
      floor: CHECK_ROWS.fill,
      run: async () => {
        if (filled === undefined) throw new Error(`${CHECK_ROWS.check}: no store (its fill row did not run first)`);
        const { dir, rows } = filled;
        try {
          const m = await measure(process.execPath, [path.join(ctx.app, 'bin', 'preload-market-data.js'), 'check', '--all', '--cache-dir', dir, '--json'], cliEnv());
          // 4: findings at warning or error level (a generated market has some: tickers that move like a split).
          if (m.code !== 0 && m.code !== 4) throw new Error(`check --all exited ${m.code}:\n${m.stderr}`);
          const report = JSON.parse(m.stdout) as CheckReport;
          if (report.bars !== rows) throw new Error(`check --all read ${report.bars} bars of the ${rows} the --all run stored`);
          const sample: Sample = {
            wallMs: m.wallMs,
            rssKb: m.rssKb,
            cpuMs: m.cpuMs,
            files: 0,
            bytes: 0,
            extra: { rows: report.bars, rowsPerS: report.bars / (m.wallMs / 1000), tickers: report.tickers, days: report.days, findings: report.findings.length },
          };
          return sample;
        } finally {
          rmSync(dir, { recursive: true, force: true });
          filled = undefined;
        }
      },
    },
  ];
}
