// Exit codes and the one line an error becomes: shared by the run and every subcommand.
import { InvalidOptionError, PreloadError } from '../errors.js';
import { kebab } from './format.js';

/** `busy`: another sync holds the cache (75, EX_TEMPFAIL: "try again later", as cron tools read it). */
export const EXIT = { ok: 0, failed: 1, usage: 2, store: 3, busy: 75, interrupted: 130 } as const;

/** The exit code of a command that ended with an error. */
export function exitCodeOf(error: unknown): number {
  // node:util parseArgs: an unknown flag or a missing value.
  if ((error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) return EXIT.usage;
  if (!(error instanceof PreloadError)) return EXIT.failed;
  if (error.code === 'ERR_STORE') return EXIT.store;
  if (error.code === 'ERR_ABORTED') return EXIT.interrupted;
  if (error.code === 'ERR_BUSY') return EXIT.busy;
  return ['ERR_INVALID_OPTION', 'ERR_CONFIGURATION', 'ERR_NOT_ENTITLED'].includes(error.code) ? EXIT.usage : EXIT.failed;
}

/** Options whose flag is not their name in kebab case. */
const FLAG_OF: Record<string, string> = { storeTimeoutMs: 'store-timeout' };

/**
 * An error as the one line the CLI prints: the library names options as in code (`clearProgress`);
 * every such name that is one of `flags` becomes the flag the user typed (--clear-progress).
 */
export function errorLine(error: unknown, flags: ReadonlySet<string>): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof InvalidOptionError)) return message;
  // Not a value the user gave: those follow "got ".
  return message.replace(/(?<!got )`([a-z][A-Za-z]*)`/g, (quoted, name: string) => {
    const flag = FLAG_OF[name] ?? kebab(name);
    return flags.has(flag) ? `--${flag}` : quoted;
  });
}
