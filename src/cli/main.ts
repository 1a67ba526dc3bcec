import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { PreloadEvent } from '../events.js';
import { preload, PreloadAbortedError } from '../preload.js';
import { urlPasswords } from '../store-url.js';
import { EXIT, errorLine, exitCodeOf } from './exit.js';
import { failureLine } from './format.js';
import { ProgressUi } from './progress-ui.js';
import { FLAGS, runOptions } from './run-options.js';
import { show } from './show.js';
import { status } from './status.js';
import { actions } from './actions.js';
import { jsonReport, summary } from './summary.js';

export { jsonReport, summary } from './summary.js';


const USAGE = `Usage: preload-market-data <SYMBOL...> [options]
       preload-market-data --all [--dataset PREFIX] [options]
       preload-market-data sync [--store URL | --cache-dir DIR] [--json]
       preload-market-data show <SYMBOL> [--last N] [--format table|csv|jsonl]
       preload-market-data status [--store URL] [--json]
       preload-market-data actions <SYMBOL> [--refresh] [--json]
       preload-market-data export <SYMBOL...> --out DIR [--format parquet|csv] [--partition year|symbol|none]

Fill the local market-data cache with day bars from Massive's S3 flat files.
Symbols: stocks (TSLA, BRK.B) and indices (I:SPX) default to 5y, crypto (BTC-USD) and
forex (EUR-USD) pairs to 2y, options (O:SPY250117C00500000) to 1y.

Options:
  --all                every row of every file of the window: the whole market of the
                       dataset (default us_stocks_sip/day_aggs_v1; with an intraday
                       --interval, minute_aggs_v1), instead of symbols
  --period P           1mo|3mo|6mo|1y|2y|5y|10y|ytd|max
  --start YYYY-MM-DD   first day (instead of --period)
  --end YYYY-MM-DD     last day (default: today, UTC)
  --interval I         1m|5m|15m|30m|1h (from minute files; default period 1mo) or 1d
  --session S          regular (09:30-16:00 New York) or extended (default) for
                       intraday bars; applied when reading (show, fetchSymbol)
  --dataset PREFIX     read this dataset, e.g. us_indices/day_aggs_v1 (default: from the symbol)
  --workers N          downloads in flight, 1-64 (default 20; with --store a process
                       starts at 4 and adds one per finished file)
  --clear-progress     forget this job's progress and download every file again
  --keep-raw           keep every verified day file under <cache dir>/raw (later
                       symbols are extracted from it with no download)
  --offline            use only the raw mirror: no network at all
  --cache-dir DIR      cache directory (env MARKET_DATA_CACHE_DIR,
                       default $XDG_CACHE_HOME/preload-market-data)
  --store URL          a shared PostgreSQL store, postgres://user:pass@host:5432/db
                       (env MARKET_DATA_STORE_URL): several processes on several
                       machines share the job; default: SQLite in the cache directory
  --store-timeout MS   how long a store that goes away mid-run (a PostgreSQL restart) is
                       waited for before exit 3 (default 60000; 0: exit at once)
  --api-endpoint URL   REST API base URL, for corporate actions (env MASSIVE_API_URL,
                       default https://api.massive.com)
  --endpoint URL       S3 endpoint (env MASSIVE_S3_ENDPOINT, default https://files.massive.com)
  --bucket NAME        S3 bucket (env MASSIVE_S3_BUCKET, default flatfiles)
  --region NAME        SigV4 region of the endpoint, for other S3-compatible servers
                       (env MASSIVE_S3_REGION, default us-east-1)
  --retries N          retries per file before it fails (default 5)
  --retry-delay-ms N   base delay of the exponential backoff (default 250)
  --timeout-ms N       per-request timeout (default 30000)
  --max-rps N          cap on requests per second across all threads, and with --store
                       across every process on the job (default: no cap)
  --threads N          worker threads the downloads are spread over (default: see README)
  --json               print one JSON report on stdout, nothing else
  --quiet              no progress bar, no summary (errors only)
  --verbose            more detail, and stack traces on errors
  --help, --version

Credentials: MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY, else the AWS default chain.
Split-adjusted reads: MASSIVE_API_KEY (the REST key) for the corporate actions.
Exit codes: 0 done, 1 some files failed, 2 bad usage or configuration, 3 the store
failed (PostgreSQL down past --store-timeout: rerun to resume), 130 interrupted.`;

export { FLAGS } from './run-options.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI and returns its exit code. Never throws. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const secrets = [
    io.env['MASSIVE_SECRET_ACCESS_KEY'],
    io.env['MASSIVE_ACCESS_KEY_ID'],
    io.env['AWS_SECRET_ACCESS_KEY'],
    io.env['MASSIVE_API_KEY'],
    ...storePasswords(argv, io.env),
  ].filter(
    (s): s is string => typeof s === 'string' && s.length >= 4,
  );
  // Belt and braces: nothing we print may carry a credential, whatever an error message says.
  const redact = (s: string): string => secrets.reduce((acc, secret) => acc.split(secret).join('***'), s);
  const out = (s: string): void => void io.stdout.write(`${redact(s)}\n`);
  const err = (s: string): void => void io.stderr.write(`${redact(s)}\n`);

  if (argv[0] === 'show') return subcommand('show', () => show(argv.slice(1)), out, err);
  if (argv[0] === 'status') return subcommand('status', () => status(argv.slice(1)), out, err);
  if (argv[0] === 'actions') return subcommand('actions', () => actions(argv.slice(1)), out, err);
  if (argv[0] === 'export') return (await import('./export.js')).exportCommand(argv.slice(1), out, err, io);
  if (argv[0] === 'sync') return (await import('./sync.js')).syncCommand(argv.slice(1), io, out, err);

  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    err(`preload-market-data: ${(error as Error).message}. See --help.`);
    return EXIT.usage;
  }
  const { values: v, positionals } = args;
  if (v.help) {
    out(USAGE);
    return EXIT.ok;
  }
  if (v.version) {
    out(readVersion());
    return EXIT.ok;
  }
  if (v.all && positionals.length > 0) {
    err(`preload-market-data: --all takes every ticker of the files, not symbols: drop ${positionals.slice(0, 3).join(' ')}, or drop --all. See --help.`);
    return EXIT.usage;
  }
  if (positionals.length === 0 && !v.all) {
    err('preload-market-data: expected at least one symbol (or --all), e.g. `preload-market-data TSLA`. See --help.');
    return EXIT.usage;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const ui = v.json || v.quiet ? undefined : new ProgressUi(io, err, Boolean(v.verbose));
  try {
    const options = runOptions(v, controller.signal, (e: PreloadEvent) => ui?.onEvent(e));
    const report = await preload(positionals, options);
    ui?.stop();
    if (v.json) out(JSON.stringify(jsonReport(report)));
    else if (!v.quiet) out(summary(report));
    if (report.failures.length > 0) {
      if (v.quiet) for (const f of report.failures) err(failureLine(f));
      return EXIT.failed;
    }
    // A shared job is done only when every process's files are: another's failures count too.
    if ((report.job?.failed ?? 0) > 0) return EXIT.failed;
    return EXIT.ok;
  } catch (error) {
    ui?.stop();
    if (error instanceof PreloadAbortedError) {
      if (v.json) out(JSON.stringify(jsonReport(error.report)));
      else if (!v.quiet) out(summary(error.report));
      const r = error.report.files;
      err(`Interrupted: ${r.downloaded + r.skipped} of ${r.listed} listed files are done and recorded. Run the same command again to resume.`);
      return EXIT.interrupted;
    }
    err(`preload-market-data: ${errorLine(error, ALL_FLAGS)}`);
    if (v.verbose && error instanceof Error && error.stack) err(error.stack);
    return exitCodeOf(error);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** Passwords of store URLs given by flag or environment: masked in anything printed. */
function storePasswords(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const urls = [env['MARKET_DATA_STORE_URL'], ...argv.flatMap((a, i) => (a === '--store' ? [argv[i + 1]] : a.startsWith('--store=') ? [a.slice(8)] : []))];
  return urls.flatMap(urlPasswords);
}

/** Runs `show` or `status`: its lines on stdout, an error as one line and its exit code. */
async function subcommand(
  name: string,
  run: () => Promise<{ lines: string[]; empty?: boolean }>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  try {
    const { lines, empty } = await run();
    for (const line of lines) out(line);
    if (empty) err('No bars cached for this window: run `preload-market-data <SYMBOL>` first.');
    return EXIT.ok;
  } catch (error) {
    err(`preload-market-data ${name}: ${errorLine(error, ALL_FLAGS)}`);
    return exitCodeOf(error);
  }
}

/** Every flag of the run, `show` and `status`, as typed. */
const ALL_FLAGS = new Set([...Object.keys(FLAGS), 'last', 'format', 'refresh']);
function parse(argv: string[]) {
  return parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
}

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
