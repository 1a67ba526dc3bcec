// `preload-market-data sync`: brings everything the store holds up to the last published day,
// made for cron and systemd timers (the README shows both). Exit codes as a run's, plus 75 when
// another sync still holds the SQLite cache. Its flags and help: commands.ts.
import type { PreloadEvent } from '../events.js';
import { sync, type SyncOptions, type SyncReport } from '../sync.js';
import type { Context } from './context.js';
import { dryRunSummary } from './dry-run.js';
import { EXIT } from './exit.js';
import { UsageError } from './parse.js';
import { ProgressUi } from './progress-ui.js';
import { jsonReport, summary } from './summary.js';

/** Runs `sync` (no symbols, no window: its flags are the download and store ones). */
export async function syncCommand(ctx: Context): Promise<number> {
  const { positionals } = ctx.line;
  if (positionals.length > 0) throw new UsageError(`sync takes no symbols (it keeps every job of the store current), got ${positionals.join(' ')}`);
  const quiet = !ctx.drawProgress;
  let ui: ProgressUi | undefined;
  const onProgress = (e: PreloadEvent): void => {
    ctx.emit(e);
    if (quiet) return;
    // Each dataset is a run of its own, with its own bar.
    if (e.type === 'plan') {
      ui?.stop();
      ui = new ProgressUi(ctx.io, ctx.err, ctx.verbose);
    }
    ui?.onEvent(e);
  };
  try {
    // The flags' values as typed: sync() validates them, once.
    const report = await sync({ ...(ctx.options as SyncOptions), signal: ctx.signal, onProgress });
    ctx.report(report);
    ui?.stop();
    if (ctx.json) ctx.out(JSON.stringify(syncJson(report)));
    else if (!ctx.quiet) ctx.out(report.dryRun ? dryRunSummary(report) : syncSummary(report));
    const failed = report.parts.some((p) => p.report.failures.length > 0 || (p.report.job?.failed ?? 0) > 0);
    return failed ? EXIT.failed : EXIT.ok;
  } finally {
    ui?.stop();
  }
}

/** The `--json` document: one part per dataset and interval, each a run's report. */
export function syncJson(r: SyncReport): Record<string, unknown> {
  return {
    parts: r.parts.map((p) => ({ dataset: p.dataset, interval: p.interval, symbols: p.symbols, ...jsonReport(p.report) })),
    elapsedMs: r.elapsedMs,
    ...(r.dryRun ? { dryRun: true } : {}),
  };
}

export function syncSummary(r: SyncReport): string {
  const files = r.parts.reduce((n, p) => n + p.report.files.downloaded, 0);
  const head = `Synced ${r.parts.length} dataset${r.parts.length === 1 ? '' : 's'}: ${files} new or republished file${files === 1 ? '' : 's'} downloaded`;
  return [head, ...r.parts.map((p) => summary(p.report, { sync: true }))].join('\n');
}
