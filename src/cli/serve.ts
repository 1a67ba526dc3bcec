// `preload-market-data serve`: the provider's REST API from the store until Ctrl+C or SIGTERM,
// then a graceful stop (requests in flight finish) and exit 0. Its flags and help: commands.ts.
import { ConfigurationError, InvalidOptionError } from '../errors.js';
import { TOKEN_ENV } from '../serve/auth.js';
import type { ServeOptions } from '../serve/options.js';
import { defaultProcesses, isServeWorker, leavePrimary, reportListening, startProcesses, stopRequested, WorkerExit } from '../serve/processes.js';
import { createServer, prepareServe } from '../serve/server.js';
import { stringFlag, type Context } from './context.js';
import { EXIT } from './exit.js';
import { UsageError } from './parse.js';

const MB = 1024 * 1024;

export async function serveCommand(ctx: Context): Promise<number> {
  if (ctx.line.positionals.length > 0) throw new UsageError(`serve takes no symbols (it answers for every ticker the store holds), got ${ctx.line.positionals.join(' ')}`);
  const cacheMb = stringFlag(ctx, 'cache-mb');
  if (cacheMb !== undefined && !/^\d+$/.test(cacheMb.trim())) throw new UsageError(`--cache-mb expects an integer number of megabytes, 0 or more, got \`${cacheMb}\``);
  const processesFlag = stringFlag(ctx, 'processes');
  if (processesFlag !== undefined && (!/^\d+$/.test(processesFlag.trim()) || Number(processesFlag) < 1 || Number(processesFlag) > 64)) {
    throw new UsageError(`--processes expects an integer from 1 to 64, got \`${processesFlag}\``);
  }
  const options = ctx.options as ServeOptions;
  // Every process runs this command with the same flags: each would open the same port or file.
  const perRun = ['metrics-port', 'metrics-file'].find((f) => stringFlag(ctx, f) !== undefined);
  const processes = processesFlag !== undefined ? Number(processesFlag) : perRun !== undefined ? 1 : defaultProcesses(options.fill === true);
  const worker = isServeWorker();
  if (processes > 1 && !worker) {
    if (perRun !== undefined) throw new UsageError(`--${perRun} is one process's, and --processes ${processes} runs several: leave --processes out (then 1), or read each process's /metrics`);
    return servePrimary(ctx, options, cacheMb, processes);
  }
  if (!worker) return serveOne(ctx, options, cacheMb, false);
  try {
    return await serveOne(ctx, options, cacheMb, true);
  } finally {
    // The channel to the primary would keep this process alive once the command returns (or
    // fails: then the primary reports this process's exit code).
    leavePrimary();
  }
}

/** One serving process: the only one, or one of `--processes` (`worker`: it reports to the primary). */
async function serveOne(ctx: Context, options: ServeOptions, cacheMb: string | undefined, worker: boolean): Promise<number> {
  const token = options.token ?? ctx.io.env[TOKEN_ENV];
  // pino's lines are complete JSON lines; the token is never in them (safeUrl), and masked here
  // whatever a message says.
  const write = (line: string): void => void ctx.io.stderr.write(token === undefined || token.length < 4 ? line : line.split(token).join('***'));
  const server = await createServer(
    {
      ...options,
      ...(cacheMb !== undefined && { cacheBytes: Number(cacheMb) * MB }),
      ...(ctx.line.values['log-format'] === 'json' && { log: write }),
      onIndex: (e) => {
        if (!ctx.drawProgress) return;
        if (e.state === 'building') ctx.err('Building the index by ticker that answers read along (once after a large --all; ~20 s for 5 years of the whole market)...');
        else ctx.err(`Index by ticker built in ${(e.ms / 1000).toFixed(1)} s`);
      },
    },
    ctx.io.env,
  );
  let url: string;
  try {
    ({ url } = await server.listen());
  } catch (error) {
    await server.close();
    if (error instanceof InvalidOptionError) throw error;
    throw new ConfigurationError(`Cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8080}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (worker) reportListening({ url, where: server.where, caching: server.caching });
  else if (ctx.json) ctx.out(JSON.stringify({ url, store: server.where, caching: server.caching, processes: 1 }));
  else if (!ctx.quiet) ctx.out(`Serving ${server.where} on ${url} (Ctrl+C stops)`);
  await Promise.race([aborted(ctx.signal), ...(worker ? [stopRequested()] : [])]);
  await server.close();
  ctx.report({});
  return EXIT.ok;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * `--processes N` (N > 1): checks the options and builds the store's index here, once, then forks
 * N processes of this same command that listen on one port (src/serve/processes.ts); on Ctrl+C or
 * SIGTERM tells each to stop, waits for all, and exits 0 when all did.
 */
async function servePrimary(ctx: Context, options: ServeOptions, cacheMb: string | undefined, processes: number): Promise<number> {
  await prepareServe(
    {
      ...options,
      ...(cacheMb !== undefined && { cacheBytes: Number(cacheMb) * MB }),
      onIndex: (e) => {
        if (!ctx.drawProgress) return;
        if (e.state === 'building') ctx.err('Building the index by ticker that answers read along (once after a large --all; ~20 s for 5 years of the whole market)...');
        else ctx.err(`Index by ticker built in ${(e.ms / 1000).toFixed(1)} s`);
      },
    },
    ctx.io.env,
  );
  let group: Awaited<ReturnType<typeof startProcesses>>;
  try {
    group = await startProcesses(processes);
  } catch (error) {
    // The process that failed printed why (a port taken): its exit code is the command's.
    if (error instanceof WorkerExit) return error.code;
    throw error;
  }
  const { url, where, caching } = group.listening;
  if (ctx.json) ctx.out(JSON.stringify({ url, store: where, caching, processes }));
  else if (!ctx.quiet) ctx.out(`Serving ${where} on ${url} with ${processes} processes (Ctrl+C stops)`);
  const crashed = await Promise.race([aborted(ctx.signal).then(() => undefined), group.failed]);
  if (crashed !== undefined) ctx.err(`A serve process exited with code ${crashed}: stopping the others`);
  const codes = await group.stop();
  ctx.report({});
  return crashed ?? codes.find((c) => c !== 0) ?? EXIT.ok;
}
