// `preload-market-data <SYMBOL...>` and `--all`: the run. Draws the bar, prints the summary or
// the JSON report, and says how an interrupted run resumes.
import type { PreloadEvent } from '../events.js';
import type { PreloadOptions } from '../options.js';
import { preload, PreloadAbortedError } from '../preload.js';
import { booleanFlag, type Context } from './context.js';
import { dryRunSummary } from './dry-run.js';
import { EXIT } from './exit.js';
import { failureLine } from './format.js';
import { ProgressUi } from './progress-ui.js';
import { UsageError } from './parse.js';
import { jsonReport, summary } from './summary.js';

export async function runCommand(ctx: Context): Promise<number> {
  const { positionals } = ctx.line;
  const all = booleanFlag(ctx, 'all');
  if (all && positionals.length > 0) {
    throw new UsageError(`--all takes every ticker of the files, not symbols: drop ${positionals.slice(0, 3).join(' ')}, or drop --all. See --help.`);
  }
  if (positionals.length === 0 && !all) throw new UsageError('expected at least one symbol (or --all), e.g. `preload-market-data TSLA`. See --help.');

  const ui = !ctx.drawProgress ? undefined : new ProgressUi(ctx.io, ctx.err, ctx.verbose);
  try {
    // The flags' values as typed: preload() validates them, once.
    const onProgress = (e: PreloadEvent): void => {
      ui?.onEvent(e);
      ctx.emit(e);
    };
    const options: PreloadOptions = { ...(ctx.options as PreloadOptions), signal: ctx.signal, onProgress };
    const report = await preload(positionals, options);
    ctx.report(report);
    ui?.stop();
    if (ctx.json) ctx.out(JSON.stringify(jsonReport(report)));
    else if (!ctx.quiet) ctx.out(report.dryRun ? dryRunSummary(report) : summary(report));
    if (report.failures.length > 0) {
      if (ctx.quiet) for (const f of report.failures) ctx.err(failureLine(f));
      return EXIT.failed;
    }
    // A shared job is done only when every process's files are: another's failures count too.
    if ((report.job?.failed ?? 0) > 0) return EXIT.failed;
    return EXIT.ok;
  } catch (error) {
    ui?.stop();
    if (!(error instanceof PreloadAbortedError)) throw error;
    ctx.report(error.report);
    if (ctx.json) ctx.out(JSON.stringify(jsonReport(error.report)));
    else if (!ctx.quiet) ctx.out(summary(error.report));
    const r = error.report.files;
    ctx.err(`Interrupted: ${r.downloaded + r.skipped} of ${r.listed} listed files are done and recorded. Run the same command again to resume.`);
    return EXIT.interrupted;
  }
}
