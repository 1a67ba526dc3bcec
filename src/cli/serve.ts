// `preload-market-data serve`: the provider's REST API from the store until Ctrl+C or SIGTERM,
// then a graceful stop (requests in flight finish) and exit 0. Its flags and help: commands.ts.
import { ConfigurationError, InvalidOptionError } from '../errors.js';
import { TOKEN_ENV } from '../serve/auth.js';
import type { ServeOptions } from '../serve/options.js';
import { createServer } from '../serve/server.js';
import { stringFlag, type Context } from './context.js';
import { EXIT } from './exit.js';
import { UsageError } from './parse.js';

const MB = 1024 * 1024;

export async function serveCommand(ctx: Context): Promise<number> {
  if (ctx.line.positionals.length > 0) throw new UsageError(`serve takes no symbols (it answers for every ticker the store holds), got ${ctx.line.positionals.join(' ')}`);
  const cacheMb = stringFlag(ctx, 'cache-mb');
  if (cacheMb !== undefined && !/^\d+$/.test(cacheMb.trim())) throw new UsageError(`--cache-mb expects an integer number of megabytes, 0 or more, got \`${cacheMb}\``);
  const options = ctx.options as ServeOptions;
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
  if (ctx.json) ctx.out(JSON.stringify({ url, store: server.where, caching: server.caching }));
  else if (!ctx.quiet) ctx.out(`Serving ${server.where} on ${url} (Ctrl+C stops)`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  ctx.report({});
  return EXIT.ok;
}
