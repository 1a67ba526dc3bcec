// Exit codes and the one line an error becomes: shared by the run and every subcommand.
import { InvalidOptionError, PreloadError } from '../errors.js';
import type { Command } from './commands.js';
import { UsageError } from './parse.js';

/** `busy`: another sync holds the cache (75, EX_TEMPFAIL: "try again later", as cron tools read it). */
export const EXIT = { ok: 0, failed: 1, usage: 2, store: 3, findings: 4, busy: 75, interrupted: 130 } as const;

/** What each exit code means: `--help` and the CLI reference (docs/cli.md) print this table. */
export const EXIT_MEANINGS: Record<keyof typeof EXIT, string> = {
  ok: 'done: every file done',
  failed: 'some files failed after their retries (each listed with its reason; a rerun retries only those)',
  usage:
    'bad usage or configuration: one line naming the option and the bad value (an unknown option names the nearest valid one); also rejected credentials, an unwritable cache directory, a 403 "not entitled to <dataset>?", a REST key the API refused, adjusted bars of a stock whose corporate actions were never fetched, --clear-progress while processes work on the shared job, sync on a store that holds no job',
  store: 'the store failed (PostgreSQL unreachable, or gone mid-run for longer than --store-timeout: one line, its password masked); nothing is marked done without its bars, so a rerun resumes',
  findings: 'check only: findings at warning or error level (each listed with its evidence; docs/data-quality.md)',
  busy: 'sync only: another sync still holds the SQLite cache (EX_TEMPFAIL: the next one catches up)',
  interrupted: 'interrupted (Ctrl+C or SIGTERM) after the progress made so far is recorded; a second Ctrl+C exits at once, losing nothing committed',
};

/** The exit code of a command that ended with an error. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (!(error instanceof PreloadError)) return EXIT.failed;
  if (error.code === 'ERR_STORE') return EXIT.store;
  if (error.code === 'ERR_ABORTED') return EXIT.interrupted;
  if (error.code === 'ERR_BUSY') return EXIT.busy;
  return ['ERR_INVALID_OPTION', 'ERR_CONFIGURATION', 'ERR_NOT_ENTITLED'].includes(error.code) ? EXIT.usage : EXIT.failed;
}

/**
 * An error as the one line the CLI prints: the library names options as in code (`clearProgress`);
 * every such name that is an option of one of the command's flags becomes the flag the user typed
 * (--clear-progress).
 */
export function errorLine(error: unknown, c: Command): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof InvalidOptionError)) return message;
  const flagOf = new Map(c.flags.map((f) => [f.option ?? f.name, f.name]));
  // Not a value the user gave: those follow "got ".
  return message.replace(/(?<!got )`([a-z][A-Za-z]*)`/g, (quoted, name: string) => {
    const flag = flagOf.get(name);
    return flag === undefined ? quoted : `--${flag}`;
  });
}
