// The seam between a command and what watches it from outside the terminal (structured logs,
// metrics): the runner starts one observer per kind the flags ask for, the command hands them the
// library's events and its report, and the runner ends them with the exit code, whether the
// command succeeded, failed or threw. Observers never change what a command does or prints.
import type { CommandEvent, Io } from './context.js';
import { logObserver } from './log.js';
import { metricsObserver } from './metrics.js';
import type { CommandLine } from './parse.js';

export type { CommandEvent };

export interface CommandEnd {
  exitCode: number;
  /** The command's report (a run's PreloadReport, a SyncReport, an ExportReport), when it made one. */
  report: unknown;
  /** What the command threw, when it did. */
  error: unknown;
  /** Wall time since the runner started the command. */
  elapsedMs: number;
}

export interface Observer {
  /** A library event, as the command receives it. */
  event(e: CommandEvent): void;
  /** Awaited before the runner returns the exit code (a metrics file is written here). */
  end(end: CommandEnd): Promise<void> | void;
  /**
   * Set by an observer that owns stderr (JSON logs): the lines a command would write there go to
   * it instead, and it reports the command's error itself in `end()`.
   */
  readonly stderr?: ((s: string) => void) | undefined;
}

/** What a factory is given: the parsed line, where to write, and the masking every printed line goes through. */
export interface ObserverContext {
  line: CommandLine;
  io: Io;
  redact: (s: string) => string;
}

/** Makes an observer when the command line asks for one (undefined otherwise). */
export type ObserverFactory = (c: ObserverContext) => Observer | undefined | Promise<Observer | undefined>;

/** Every kind of observer; each decides from the flags whether it watches this command. */
export const OBSERVERS: ObserverFactory[] = [logObserver, metricsObserver];
