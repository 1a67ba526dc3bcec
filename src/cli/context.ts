// What a command's handler is given by the runner (main.ts): its parsed line, the library options
// its flags set, the common flags, the signal Ctrl+C aborts, and where to write.
import type { CheckEvent } from '../check/types.js';
import type { PreloadEvent } from '../events.js';
import type { ExportEvent } from '../export/types.js';
import type { UiStream } from './progress-ui.js';
import type { CommandLine } from './parse.js';

/** What a command hands its observers (logs, metrics): the library's events. */
export type CommandEvent = PreloadEvent | ExportEvent | CheckEvent;

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: UiStream;
  env: NodeJS.ProcessEnv;
}

export interface Context {
  line: CommandLine;
  /** The library options the flags given set (values as typed: the library validates them). */
  options: Record<string, unknown>;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Whether the bar and the human notes go on stderr: not with --json, --quiet or --log-format json. */
  drawProgress: boolean;
  /** Aborted by the first Ctrl+C or SIGTERM (a second one exits at once). */
  signal: AbortSignal;
  io: Io;
  /** A line on stdout, credentials masked. */
  out: (s: string) => void;
  /** A line on stderr, credentials masked. */
  err: (s: string) => void;
  /** Hands a library event to the observers (logs, metrics): call it from every onProgress. */
  emit: (e: CommandEvent) => void;
  /** The command's report, for the observers at its end (call it before returning, also on a stop). */
  report: (r: unknown) => void;
}

/** Runs a command; returns its exit code. Throws for the runner to print (one line, exit code by error). */
export type Handler = (ctx: Context) => Promise<number>;

/** A string flag's value as typed. */
export function stringFlag(ctx: Context, name: string): string | undefined {
  const v = ctx.line.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A switch: given or not. */
export function booleanFlag(ctx: Context, name: string): boolean {
  return ctx.line.values[name] === true;
}
