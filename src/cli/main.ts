// The runner: parses the command line against the declaration (commands.ts), prints help and
// version, and runs the command's handler under one set of rules for every command: Ctrl+C
// aborts (a second one exits 130 at once), an error is one line (its stack with --verbose) and
// an exit code, and nothing printed carries a credential.
import type { ParseArgsConfig } from 'node:util';
import { urlPasswords } from '../store-url.js';
import { CREDENTIAL_ENV, OPTION_ENV } from '../options.js';
import { TOKEN_ENV } from '../serve/auth.js';
import { PROGRAM, command, type Command, type CommandName } from './commands.js';
import type { Context, Handler, Io } from './context.js';
import { EXIT, errorLine, exitCodeOf } from './exit.js';
import { helpText } from './help.js';
import { logSettings, usageErrorJson, wantsJsonLog } from './log.js';
import { OBSERVERS, type Observer } from './observe.js';
import { optionsOf, parseArgsOptions, parseCommandLine, UsageError, type CommandLine } from './parse.js';
import { readVersion } from './version.js';

export { jsonReport, summary } from './summary.js';
export type { Io } from './context.js';

/** The run's parseArgs options (for the demo, which reads the same arguments). */
export const FLAGS: NonNullable<ParseArgsConfig['options']> = parseArgsOptions(command('run'));

/** Each command's handler, loaded when it runs (export needs DuckDB's client, sync the run). */
const HANDLERS: Record<CommandName, () => Promise<Handler>> = {
  run: async () => (await import('./run.js')).runCommand,
  sync: async () => (await import('./sync.js')).syncCommand,
  show: async () => (await import('./show.js')).showCommand,
  status: async () => (await import('./status.js')).statusCommand,
  actions: async () => (await import('./actions.js')).actionsCommand,
  export: async () => (await import('./export.js')).exportCommand,
  check: async () => (await import('./check.js')).checkCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
};

/** Runs the CLI and returns its exit code. Never throws. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const secrets = [
    io.env[CREDENTIAL_ENV.secretAccessKey],
    io.env[CREDENTIAL_ENV.accessKeyId],
    io.env['AWS_SECRET_ACCESS_KEY'],
    io.env[OPTION_ENV.apiKey],
    io.env[TOKEN_ENV],
    ...flagValues(argv, 'token'),
    ...storePasswords(argv, io.env),
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  // Belt and braces: nothing we print may carry a credential, whatever an error message says.
  const redact = (s: string): string => secrets.reduce((acc, secret) => acc.split(secret).join('***'), s);
  const out = (s: string): void => void io.stdout.write(`${redact(s)}\n`);
  const err = (s: string): void => void io.stderr.write(`${redact(s)}\n`);

  let line: CommandLine;
  try {
    line = parseCommandLine(argv);
    logSettings(line.values, line.command);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // `--log-format json` asked for: stderr carries JSON lines only, this one too.
    if (wantsJsonLog(argv)) err(await usageErrorJson(error.command?.name ?? 'run', error.message));
    else err(`${prefix(error.command)}${error.message}`);
    return EXIT.usage;
  }
  const { values } = line;
  if (values['help'] === true) {
    out(helpText(line.command));
    return EXIT.ok;
  }
  if (values['version'] === true) {
    out(readVersion());
    return EXIT.ok;
  }
  return runHandler(line, io, out, err, redact);
}

/** `preload-market-data: ` for the run, `preload-market-data show: ` for a subcommand. */
function prefix(c: Command | undefined): string {
  return c === undefined || c.name === 'run' ? `${PROGRAM}: ` : `${PROGRAM} ${c.name}: `;
}

async function runHandler(line: CommandLine, io: Io, out: (s: string) => void, err: (s: string) => void, redact: (s: string) => string): Promise<number> {
  const started = performance.now();
  const controller = new AbortController();
  let interrupts = 0;
  // The first signal stops the command cleanly (what is committed stays); a second one does not
  // wait. A command that only reads has nothing to keep: it ends at the first.
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1 || !line.command.stopsCleanly) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const verbose = line.values['verbose'] === true;
  const observers: Observer[] = [];
  let report: unknown;
  // An observer that owns stderr (JSON logs) takes the lines a command would write there, so
  // stderr carries its lines only; it reports the final error itself, in end().
  const owner = (): Observer | undefined => observers.find((o) => o.stderr !== undefined);
  const note = (s: string): void => {
    const take = owner()?.stderr;
    if (take) take(redact(s));
    else err(s);
  };
  const jsonLog = line.values['log-format'] === 'json';
  const ctx: Context = {
    line,
    options: optionsOf(line),
    json: line.values['json'] === true,
    quiet: line.values['quiet'] === true,
    verbose,
    signal: controller.signal,
    // With JSON logs no bar and no notes on stderr: the log says it all.
    drawProgress: !(line.values['json'] === true || line.values['quiet'] === true || jsonLog),
    io,
    out,
    err: note,
    emit: (e) => {
      for (const o of observers) o.event(e);
    },
    report: (r) => {
      report = r;
    },
  };
  let exitCode: number = EXIT.usage;
  let thrown: unknown;
  try {
    // One at a time, logs first: when a later one refuses its flags (a metrics file's missing
    // directory), the log already runs and reports that error as it reports any other.
    for (const make of OBSERVERS) {
      const o = await make({ line, io, redact });
      if (o !== undefined) observers.push(o);
    }
    const handler = await HANDLERS[line.command.name]();
    exitCode = await handler(ctx);
    return exitCode;
  } catch (error) {
    thrown = error;
    if (owner() === undefined) {
      err(`${prefix(line.command)}${errorLine(error, line.command)}`);
      if (verbose && error instanceof Error && error.stack) err(error.stack);
    }
    exitCode = exitCodeOf(error);
    return exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Every observer ends, whatever happened: a metrics file is written for a failed run too.
    const end = { exitCode, report, error: thrown, elapsedMs: performance.now() - started };
    for (const o of observers) await o.end(end);
  }
}

/** Passwords of store URLs given by flag or environment: masked in anything printed. */
function storePasswords(argv: string[], env: NodeJS.ProcessEnv): string[] {
  return [env[OPTION_ENV.store], ...flagValues(argv, 'store')].flatMap(urlPasswords);
}

/** The values of a string flag as typed (`--name V` or `--name=V`). */
function flagValues(argv: string[], name: string): Array<string | undefined> {
  return argv.flatMap((a, i) => (a === `--${name}` ? [argv[i + 1]] : a.startsWith(`--${name}=`) ? [a.slice(name.length + 3)] : []));
}

