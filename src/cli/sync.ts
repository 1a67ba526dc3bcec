// `preload-market-data sync`: brings everything the store holds up to the last published day,
// made for cron and systemd timers (the README shows both). Exit codes as a run's, plus 75 when
// another sync still holds the SQLite cache.
import { parseArgs } from 'node:util';
import type { PreloadEvent } from '../events.js';
import { InvalidOptionError } from '../errors.js';
import { sync, type SyncReport } from '../sync.js';
import { EXIT, errorLine, exitCodeOf } from './exit.js';
import { ProgressUi } from './progress-ui.js';
import { FLAGS, runOptions } from './run-options.js';
import { jsonReport, summary } from './summary.js';

const SYNC_USAGE = `Usage: preload-market-data sync [--store URL | --cache-dir DIR] [--json] [--quiet]

Brings every job the store holds up to the last published day: for each dataset and
interval, one listing of the days after what is stored (and the week before, to catch a
republished file), each new file downloaded once, every symbol of every job on that dataset
taken from it (an --all job takes every row). Takes the run's download options (--workers,
--endpoint, --max-rps, ...), no symbols and no window.

On the SQLite cache one sync runs at a time: another exits 75 at once with one line. On a
shared store (--store) concurrent syncs share the work like any job.
Exit codes: 0 done, 1 some files failed, 2 bad usage or nothing to sync, 3 the store failed,
75 another sync is running, 130 interrupted.`;

/** Flags a sync refuses: it keeps the store's own jobs current, in their own windows. */
const WINDOW_ONLY = ['period', 'start', 'end', 'interval', 'dataset', 'all', 'clear-progress', 'session', 'adjust'] as const;

/** Runs `sync`; returns the exit code. Never throws. */
export async function syncCommand(
  argv: string[],
  io: { stderr: NodeJS.WritableStream & { isTTY?: boolean } },
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let verbose = false;
  let ui: ProgressUi | undefined;
  try {
    const { values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: FLAGS });
    verbose = Boolean(v.verbose);
    if (v.help) {
      out(SYNC_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new InvalidOptionError('symbols', positionals, `sync takes no symbols (it keeps every job of the store current), got ${positionals.join(' ')}`);
    const given = WINDOW_ONLY.find((f) => v[f] !== undefined);
    if (given !== undefined) throw new InvalidOptionError(given, v[given], `sync takes no --${given}: it brings each stored job up to the last published day`);
    const quiet = Boolean(v.json) || Boolean(v.quiet);
    const onProgress = (e: PreloadEvent): void => {
      if (quiet) return;
      // Each dataset is a run of its own, with its own bar.
      if (e.type === 'plan') {
        ui?.stop();
        ui = new ProgressUi(io, err, verbose);
      }
      ui?.onEvent(e);
    };
    const report = await sync(runOptions(v, controller.signal, onProgress));
    ui?.stop();
    if (v.json) out(JSON.stringify(syncJson(report)));
    else if (!v.quiet) out(syncSummary(report));
    const failed = report.parts.some((p) => p.report.failures.length > 0 || (p.report.job?.failed ?? 0) > 0);
    return failed ? EXIT.failed : EXIT.ok;
  } catch (error) {
    ui?.stop();
    err(`preload-market-data sync: ${errorLine(error, new Set(Object.keys(FLAGS)))}`);
    if (verbose && error instanceof Error && error.stack) err(error.stack);
    return exitCodeOf(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The `--json` document: one part per dataset and interval, each a run's report. */
export function syncJson(r: SyncReport): Record<string, unknown> {
  return {
    parts: r.parts.map((p) => ({ dataset: p.dataset, interval: p.interval, symbols: p.symbols, ...jsonReport(p.report) })),
    elapsedMs: r.elapsedMs,
  };
}

export function syncSummary(r: SyncReport): string {
  const files = r.parts.reduce((n, p) => n + p.report.files.downloaded, 0);
  const head = `Synced ${r.parts.length} dataset${r.parts.length === 1 ? '' : 's'}: ${files} new or republished file${files === 1 ? '' : 's'} downloaded`;
  return [head, ...r.parts.map((p) => summary(p.report, { sync: true }))].join('\n');
}
