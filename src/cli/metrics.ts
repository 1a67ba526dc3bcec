// --metrics-file, --metrics-port and --metrics-host on every command (docs/metrics.md): an observer
// of the command (observe.ts) that serves its series live while it runs and writes them to the file
// when it ends, failed or not. The flags are checked here, before the command starts: a bad value
// is one line and exit 2. prom-client is loaded only when one of the flags is given.
//
// Typed structurally rather than with observe.ts's types: observe.ts registers this factory, and
// an import back would be a cycle.
import { statSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import type { CommandEvent } from './context.js';
import { PROGRAM } from './commands.js';
import type { Totals } from './metrics-series.js';
import { UsageError, type CommandLine } from './parse.js';

/** What the runner gives an observer factory (observe.ts's ObserverContext). */
interface FactoryContext {
  line: CommandLine;
  io: { stderr: NodeJS.WritableStream };
  redact: (s: string) => string;
}

/** A command's end as the runner tells it (observe.ts's CommandEnd). */
interface End {
  exitCode: number;
  report: unknown;
  error: unknown;
  elapsedMs: number;
}

export interface MetricsObserver {
  event(e: CommandEvent): void;
  end(end: End): Promise<void>;
}

/** Where the live endpoint listens unless --metrics-host says otherwise: never the network by default. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** The metrics flags, checked. @throws UsageError naming the flag and its bad value */
export function metricsFlags(line: CommandLine): { file: string | undefined; port: number | undefined; host: string } {
  const string = (name: string): string | undefined => {
    const v = line.values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const file = string('metrics-file');
  const portText = string('metrics-port');
  const host = string('metrics-host');
  if (host !== undefined && portText === undefined) throw new UsageError(`--metrics-host ${host} needs --metrics-port N (the port to listen on)`, line.command);
  if (host !== undefined && host.trim() === '') throw new UsageError('--metrics-host needs an address, e.g. --metrics-host 0.0.0.0, got an empty one', line.command);
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d+$/.test(portText.trim()) ? Number(portText) : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--metrics-port must be a port number from 1 to 65535, got ${portText}`, line.command);
  }
  if (file !== undefined) checkFile(file, line);
  return { file, port, host: host ?? DEFAULT_METRICS_HOST };
}

/** The file's directory must exist (the collector's directory is made once, by its set-up), and the path not be a directory. */
function checkFile(file: string, line: CommandLine): void {
  if (file.trim() === '') throw new UsageError('--metrics-file needs a path, e.g. --metrics-file ./preload.prom, got an empty one', line.command);
  const path = resolve(file);
  const dir = dirname(path);
  const kind = (p: string): 'dir' | 'other' | 'none' => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'other';
    } catch {
      return 'none';
    }
  };
  if (kind(dir) !== 'dir') throw new UsageError(`--metrics-file ${file}: the directory ${dir} does not exist`, line.command);
  if (kind(path) === 'dir') throw new UsageError(`--metrics-file ${file} is a directory, not a file`, line.command);
}

/** The observer factory (observe.ts): undefined when no metrics flag is given. */
export async function metricsObserver(c: FactoryContext): Promise<MetricsObserver | undefined> {
  const { file, port, host } = metricsFlags(c.line);
  if (file === undefined && port === undefined) return undefined;
  const command = c.line.command.name;
  const m = await import('./metrics-series.js');
  const live = port === undefined ? undefined : new m.LiveMetrics(command, Date.now() / 1000);
  const server = live && port !== undefined ? await listen(() => live.listen(host, port), host, port, c.line) : undefined;
  const totals = new m.EventTotals(live ? (dataset, delta) => live.add(dataset, delta) : undefined);
  // A dry run downloads nothing: writing it would pass for a success of the job.
  const dryRun = c.line.values['dry-run'] === true;
  return {
    event(e) {
      totals.event(e);
      live?.event(e);
    },
    async end(end) {
      if (server) await closeServer(server);
      if (file === undefined || dryRun) return;
      const endSeconds = Date.now() / 1000;
      // With no report (the command threw), what the events counted; not an export's files, which
      // were staged and are dropped when it fails.
      const counted = command === 'export' ? new Map<string, Totals>() : totals.byDataset;
      const byDataset = new Map<string, Totals | undefined>(m.totalsOfReport(command, end.report) ?? counted);
      // A command that ended before it knew its dataset (bad flags, a busy cache) still says so.
      if (byDataset.size === 0) byDataset.set('', undefined);
      try {
        await m.writeSeries(file, { command, start: endSeconds - end.elapsedMs / 1000, end: endSeconds, exitCode: end.exitCode }, byDataset);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        c.io.stderr.write(`${c.redact(`${PROGRAM}: could not write --metrics-file ${file}: ${message}`)}\n`);
      }
    },
  };
}

/** Starts the live endpoint; a port in use or an address we cannot listen on is one line, exit 2. */
async function listen(start: () => Promise<Server>, host: string, port: number, line: CommandLine): Promise<Server> {
  try {
    return await start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--metrics-port ${port}: ${host}:${port} is already in use (another process listens there)`, line.command);
    if (code === 'EACCES') throw new UsageError(`--metrics-port ${port}: not allowed to listen on ${host}:${port}`, line.command);
    throw new UsageError(`--metrics-host ${host}: cannot listen there (${code ?? (error as Error).message})`, line.command);
  }
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((done) => {
    server.close(() => done());
    // A scraper's keep-alive connection would hold close() open.
    server.closeAllConnections();
  });
}
