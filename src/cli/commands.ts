// Every command of the CLI, declared once: its name, usage, summary and each flag with its type,
// the library option it sets (whose default and environment variable come from the options
// schema, src/options.ts) and its help line. Parsing (parse.ts), `--help` (help.ts) and the
// CLI reference (docs/cli.md, README's table of commands: reference.ts) are all generated from this table.
//
// Why node:util parseArgs driven by this table rather than commander 14: the declaration needs
// things commander would either duplicate or need overriding for. Defaults and environment
// variables are applied by the library (one door: resolveOptions), so the parser must show them,
// never apply them (commander's `.default()` and `.env()` apply values); the default command takes
// bare symbols while a subcommand is found wherever global options put it (commander's default
// command and program-level options route arguments between commands by their own rules); and a
// usage error is one line with "did you mean" and exit 2 (commander prints two lines, exit 1). What
// is left for a parser to do, parseArgs (built in, no dependency) does from the table.
import { z } from 'zod';
import { exportSchema } from '../export/schema.js';
import { EXPORT_FORMATS, EXPORT_PARTITIONS } from '../export/types.js';
import { OPTION_ENV, PERIODS, optionsSchema } from '../options.js';
import { TOKEN_ENV } from '../serve/auth.js';
import { serveSchema } from '../serve/options.js';

export const PROGRAM = 'preload-market-data';

export interface Flag {
  /** As typed, without the dashes: `cache-dir`. */
  readonly name: string;
  readonly type: 'boolean' | 'string';
  /** The value's placeholder in help: `DIR`, `N`. */
  readonly arg?: string;
  readonly short?: string;
  /**
   * The library option the flag sets, when it is one of a schema's: its default (and environment
   * variable) are read from there, and an error naming the option names the flag instead.
   */
  readonly option?: string;
  /** The schema that holds `option` (the preload options unless said). */
  readonly schema?: z.ZodObject;
  /** How the string typed becomes the option's value: an integer or a number (else as typed). */
  readonly value?: 'int' | 'number';
  /** What it does, in one sentence or two. */
  readonly help: string;
  /** The default shown for a flag that no schema holds (CLI-only flags). */
  readonly default?: string;
}

export type CommandName = 'run' | 'sync' | 'show' | 'status' | 'actions' | 'export' | 'check' | 'serve';

export interface Command {
  /** `run` is the default: no word, symbols or `--all`. */
  readonly name: CommandName;
  /** The synopsis lines, after the program's name. */
  readonly usage: readonly string[];
  /** One line: what it does. */
  readonly summary: string;
  /** Paragraphs of help after the summary. */
  readonly details: readonly string[];
  readonly flags: readonly Flag[];
  /** Said when a flag of another command is given to this one. */
  readonly refusal?: string;
  /**
   * The first Ctrl+C asks it to stop and keep what it did (a second one exits at once); a command
   * that only reads exits at the first.
   */
  readonly stopsCleanly: boolean;
}

// ---------- shared pieces: the same flag means the same on every command ----------

const COMMON: readonly Flag[] = [
  { name: 'json', type: 'boolean', help: 'print exactly one JSON object on stdout and nothing else' },
  { name: 'quiet', type: 'boolean', help: "no progress, no summary, no notes: errors and failures only, on stderr (a command's data, e.g. show's bars, is still printed)" },
  { name: 'verbose', type: 'boolean', help: 'more detail as it happens, and stack traces on errors' },
  {
    name: 'log-format',
    type: 'string',
    arg: 'FORMAT',
    help: 'text, or json: one JSON object per line on stderr for each event (start, plan, listing, each failed file, progress, end, errors), with time, level, pid, hostname and the job; stdout is unchanged',
    default: 'text',
  },
  {
    name: 'stats-interval',
    type: 'string',
    arg: 'SECONDS',
    help: 'a progress line (files done of total, bytes, rate, ETA, retries and throttling since the last one) this often when stderr is not a terminal, and always with --log-format json; 0: none',
    default: '30',
  },
  {
    name: 'metrics-file',
    type: 'string',
    arg: 'PATH',
    help: "when the command ends, failed or not, write its metrics (Prometheus text format, docs/metrics.md) to PATH atomically, keeping the other commands' and datasets' series: for node_exporter's textfile collector (name it *.prom)",
  },
  { name: 'metrics-port', type: 'string', arg: 'N', help: 'serve the live metrics (with the process\'s CPU, memory and event-loop lag) on http://HOST:N/metrics while the command runs' },
  { name: 'metrics-host', type: 'string', arg: 'HOST', help: 'the address --metrics-port listens on', default: '127.0.0.1' },
  { name: 'help', type: 'boolean', short: 'h', help: 'this help' },
];

const WHERE: readonly Flag[] = [
  { name: 'cache-dir', type: 'string', arg: 'DIR', option: 'cacheDir', help: 'the directory of the SQLite cache (and of the raw mirror)' },
  {
    name: 'store',
    type: 'string',
    arg: 'URL',
    option: 'store',
    help: 'a shared PostgreSQL store, postgres://user:password@host:5432/database, instead of the SQLite cache: several processes on several machines share a job',
  },
];

const WINDOW: readonly Flag[] = [
  { name: 'period', type: 'string', arg: 'P', option: 'period', help: `${PERIODS.join(', ')}, ending at --end` },
  { name: 'start', type: 'string', arg: 'YYYY-MM-DD', option: 'start', help: 'first day (instead of --period)' },
  { name: 'end', type: 'string', arg: 'YYYY-MM-DD', option: 'end', help: 'last day' },
  {
    name: 'interval',
    type: 'string',
    arg: 'I',
    option: 'interval',
    help: '1d (day aggregates), or 1m, 5m, 15m, 30m, 1h: minute files are stored as 1m bars and coarser bars built from them when read',
  },
  { name: 'session', type: 'string', arg: 'S', option: 'session', help: 'for intraday bars: regular (09:30-16:00 New York, DST-aware) or extended (everything in the files); applied when reading' },
  { name: 'dataset', type: 'string', arg: 'PREFIX', option: 'dataset', help: 'read this dataset prefix (e.g. us_indices/day_aggs_v1), taking symbols as its tickers' },
];

const ADJUST: Flag = {
  name: 'adjust',
  type: 'string',
  arg: 'A',
  option: 'adjust',
  help: 'stock bars: splits (split-adjusted), total (splits and cash dividends) or none (as traded), from the stored corporate actions',
};

const API_ENDPOINT: Flag = { name: 'api-endpoint', type: 'string', arg: 'URL', option: 'apiEndpoint', help: "the REST API's base URL, for corporate actions" };

const DRY_RUN_HELP = 'list and plan only: files, bytes, and what a rerun would skip; nothing is downloaded or written';

const DOWNLOAD: readonly Flag[] = [
  { name: 'workers', type: 'string', arg: 'N', option: 'workers', value: 'int', help: 'downloads in flight, 1 to 64 (on a shared store: starts at 4, one more per completed file)' },
  { name: 'threads', type: 'string', arg: 'N', option: 'threads', value: 'int', help: 'worker threads the downloads are spread over' },
  { name: 'retries', type: 'string', arg: 'N', option: 'retries', value: 'int', help: 'retries per file before it fails' },
  { name: 'retry-delay-ms', type: 'string', arg: 'N', option: 'retryDelayMs', value: 'int', help: 'base delay of the exponential backoff (with jitter)' },
  { name: 'timeout-ms', type: 'string', arg: 'N', option: 'timeoutMs', value: 'int', help: 'per-request timeout; a stalled response is cut and retried' },
  {
    name: 'max-rps',
    type: 'string',
    arg: 'N',
    option: 'maxRps',
    value: 'number',
    help: 'cap on requests per second, shared by every thread, and on a shared store by every process on the job',
  },
  {
    name: 'store-timeout',
    type: 'string',
    arg: 'MS',
    option: 'storeTimeoutMs',
    value: 'int',
    help: 'how long a shared store that goes away mid-run (a PostgreSQL restart) is waited for before exit 3; 0: exit 3 at once',
  },
  { name: 'endpoint', type: 'string', arg: 'URL', option: 'endpoint', help: 'S3 endpoint of the flat files' },
  { name: 'bucket', type: 'string', arg: 'NAME', option: 'bucket', help: 'S3 bucket' },
  { name: 'region', type: 'string', arg: 'NAME', option: 'region', help: "SigV4 region the requests are signed for, for S3-compatible endpoints other than Massive's" },
  API_ENDPOINT,
  { name: 'keep-raw', type: 'boolean', option: 'keepRaw', help: 'keep every verified day file under <cache dir>/raw; later runs (another symbol) read them instead of downloading' },
  { name: 'offline', type: 'boolean', option: 'offline', help: 'no network at all: the raw mirror stands in for the listing and the downloads' },
  { name: 'dry-run', type: 'boolean', option: 'dryRun', help: DRY_RUN_HELP },
];

/**
 * The shared pieces as the CLI reference (docs/cli.md) shows them: each once, and each command's table
 * lists only its own flags then names the pieces it takes.
 */
export const FLAG_GROUPS: readonly { readonly title: string; readonly flags: readonly Flag[] }[] = [
  { title: 'Options of every command', flags: [...WHERE, ...COMMON] },
  { title: 'Window options', flags: WINDOW },
  { title: 'Download options', flags: DOWNLOAD },
];

// ---------- the commands ----------

/** What `show` prints; the first is its default. */
export const SHOW_FORMATS = ['table', 'csv', 'jsonl'] as const;

export const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    stopsCleanly: true,
    usage: ['<SYMBOL...> [options]', '--all [--dataset PREFIX] [options]'],
    summary: "Fill the store with the bars of symbols (or of the whole market) from Massive's S3 flat files: in parallel, resumable, verified.",
    details: [
      'Symbols: stocks (TSLA, BRK.B) and indices (I:SPX) default to 5y, crypto (BTC-USD) and forex (EUR-USD) pairs to 2y, options (O:SPY250117C00500000) to 1y.',
    ],
    flags: [
      {
        name: 'all',
        type: 'boolean',
        option: 'all',
        help: 'every row of every file of the window instead of symbols: every ticker of the dataset (--dataset, default us_stocks_sip/day_aggs_v1, or minute_aggs_v1 with an intraday --interval)',
      },
      ...WINDOW,
      { name: 'clear-progress', type: 'boolean', option: 'clearProgress', help: "forget this job's progress and download every file again" },
      ...DOWNLOAD,
      ...WHERE,
      ...COMMON,
      { name: 'version', type: 'boolean', short: 'v', help: 'print the version' },
    ],
  },
  {
    name: 'sync',
    stopsCleanly: true,
    usage: ['sync [options]'],
    summary: 'Bring every job the store holds up to the last published day.',
    details: [
      'For each dataset and interval, one listing of the days after what is stored (and the week before, to catch a republished file), each new file downloaded once, every symbol of every job on that dataset taken from it. Takes no symbols and no window.',
      'On the SQLite cache one sync runs at a time: another exits 75 at once. On a shared store (--store) concurrent syncs share the work like any job.',
    ],
    flags: [...DOWNLOAD, ...WHERE, ...COMMON],
    refusal: 'it brings each stored job up to the last published day, in its own window',
  },
  {
    name: 'show',
    stopsCleanly: false,
    usage: ['show <SYMBOL> [options]'],
    summary: 'Print bars already in the store; never downloads.',
    details: ['With no --period or --start, everything stored. The table rounds prices to at most 4 decimals for reading; csv, jsonl and --json keep full precision.'],
    flags: [
      { name: 'last', type: 'string', arg: 'N', help: 'only the last N bars' },
      { name: 'format', type: 'string', arg: 'F', help: `${SHOW_FORMATS.join(', ')}: the table rounds prices for reading, the others keep every digit`, default: SHOW_FORMATS[0] },
      ...WINDOW,
      ADJUST,
      ...WHERE,
      ...COMMON,
    ],
  },
  {
    name: 'status',
    stopsCleanly: false,
    usage: ['status [options]'],
    summary: 'Show every job in the store: files done, claimed, failed and left, each process (host, pid, files, files per second, last heartbeat) and an ETA.',
    details: [],
    flags: [...WHERE, ...COMMON],
  },
  {
    name: 'actions',
    stopsCleanly: true,
    usage: ['actions <SYMBOL> [options]', 'actions --all [options]'],
    summary: "List the stored splits and dividends of a stock, each with the factor it applies to the bars before its date, and when they were fetched; with --all, fetch the whole market's.",
    details: [
      'With MASSIVE_API_KEY set, actions older than a day are fetched again first.',
      "With --all (MASSIVE_API_KEY set), the whole market's splits and dividends are fetched now, one paged listing of each, and stored in one transaction: every stock ticker then has its actions as of now (none for those not listed), so adjusted reads and serve's grouped daily work on a store filled with --all.",
    ],
    flags: [
      {
        name: 'all',
        type: 'boolean',
        help: "fetch and store every stock ticker's splits and dividends now (needs MASSIVE_API_KEY; takes no symbol); prints counts, not rows",
      },
      { name: 'refresh', type: 'boolean', help: 'fetch them now, whatever their age (needs MASSIVE_API_KEY)' },
      API_ENDPOINT,
      ...WHERE,
      ...COMMON,
    ],
  },
  {
    name: 'export',
    stopsCleanly: true,
    usage: ['export (<SYMBOL...> | --all) --out DIR [options]'],
    summary: 'Write bars already in the store as Parquet (zstd) or CSV files, hive-partitioned (DIR/interval=1d/year=2024/part-0.parquet); never downloads.',
    details: [
      'The partitions written replace the same partitions of an earlier export in DIR, once all are written. With no --period or --start, everything stored. Needs the optional package @duckdb/node-api.',
    ],
    flags: [
      { name: 'all', type: 'boolean', help: "every symbol the store holds for the interval (with --dataset, only that dataset's tickers)" },
      { name: 'out', type: 'string', arg: 'DIR', option: 'out', schema: exportSchema, help: 'export directory (created; a non-empty directory that is not an earlier export is refused unless --force)' },
      { name: 'format', type: 'string', arg: 'F', option: 'format', schema: exportSchema, help: EXPORT_FORMATS.join(' or ') },
      { name: 'partition', type: 'string', arg: 'P', option: 'partition', schema: exportSchema, help: `${EXPORT_PARTITIONS.join(', ')}: a folder per year (of the New York session day) or per symbol, or one file` },
      { name: 'force', type: 'boolean', option: 'force', schema: exportSchema, help: 'write into a non-empty directory that is not an export (its other content is kept)' },
      ...WINDOW,
      ADJUST,
      ...WHERE,
      ...COMMON,
    ],
  },
  {
    name: 'check',
    stopsCleanly: false,
    usage: ['check (<SYMBOL...> | --all) [options]'],
    summary: 'Check the bars and corporate actions already in the store: impossible bars, rows stored twice, misdated files, splits missing or not seen in the prices, reused tickers, revised files, zero volume, missing days; never downloads, changes nothing.',
    details: [
      'Each finding has a kind, a severity (error, warning, info), the ticker, its dates and the values that made it one (docs/data-quality.md lists every kind and threshold). Findings are grouped by kind with counts and the first examples; --json prints them all. With no --period or --start, everything stored.',
      'Exits 0 when nothing is at warning or error level, 4 otherwise (for a cron job to alert on).',
    ],
    flags: [
      { name: 'all', type: 'boolean', help: 'every ticker the store holds for the interval, in one pass over the store (the only way rows of one ticker and time stored under two day files are seen)' },
      ...WINDOW,
      ...WHERE,
      ...COMMON,
    ],
  },
  {
    name: 'serve',
    stopsCleanly: true,
    usage: ['serve [--port 8080] [--host 127.0.0.1] [--token T] [--fill] [options]'],
    summary: "Answer the provider's REST API (aggregates, grouped daily, splits, dividends) from the store, for any client of the provider pointed at it with one line (docs/serve.md).",
    details: [
      `Runs until Ctrl+C or SIGTERM: then it stops accepting, finishes the requests in flight and exits 0. Binding an address other than loopback needs --token (or ${TOKEN_ENV}); clients send it as their API key.`,
    ],
    flags: [
      { name: 'port', type: 'string', arg: 'N', option: 'port', schema: serveSchema, value: 'int', help: 'the port to listen on (0: any free one, printed)' },
      { name: 'host', type: 'string', arg: 'ADDR', option: 'host', schema: serveSchema, help: 'the address to listen on; any other than loopback needs --token' },
      {
        name: 'token',
        type: 'string',
        arg: 'T',
        option: 'token',
        schema: serveSchema,
        help: `the token every request but /healthz must send, as "Authorization: Bearer T" or "?apiKey=T" (prefer ${TOKEN_ENV}: a flag shows in the process list)`,
        default: TOKEN_ENV,
      },
      {
        name: 'fill',
        type: 'boolean',
        option: 'fill',
        schema: serveSchema,
        help: 'a window the store does not hold is preloaded first (S3 credentials needed; concurrent requests for it share one download), then answered; without it such a request gets a 404 naming the command that fills it',
      },
      { name: 'concurrency', type: 'string', arg: 'N', option: 'concurrency', schema: serveSchema, value: 'int', help: 'answers computed at once' },
      { name: 'queue', type: 'string', arg: 'N', option: 'queue', schema: serveSchema, value: 'int', help: 'requests waiting for an answer slot; past them 503 with Retry-After at once' },
      { name: 'time-limit-ms', type: 'string', arg: 'MS', option: 'timeLimitMs', schema: serveSchema, value: 'int', help: 'a request not answered within this gets 503 with Retry-After' },
      { name: 'cache-mb', type: 'string', arg: 'MB', help: 'memory for recent answers, emptied whenever the store changes; 0: no cache', default: '64' },
      {
        name: 'processes',
        type: 'string',
        arg: 'N',
        help: 'processes answering on the one port (a SQLite read blocks its process: one per core uses every core); each has its own cache and /metrics',
        default: 'the cores; 1 with --fill, --metrics-port or --metrics-file',
      },
      ...DOWNLOAD.filter((f) => ['endpoint', 'bucket', 'region', 'max-rps', 'workers', 'keep-raw'].includes(f.name)),
      API_ENDPOINT,
      ...WHERE,
      ...COMMON,
    ],
  },
];

export function command(name: CommandName): Command {
  const found = COMMANDS.find((c) => c.name === name);
  if (found === undefined) throw new RangeError(`no command ${name}`);
  return found;
}

/** The command's line as typed: `preload-market-data` for the run, `preload-market-data show` else. */
export function commandLine(c: Command): string {
  return c.name === 'run' ? PROGRAM : `${PROGRAM} ${c.name}`;
}

/** The schema field behind a flag, if any. */
function fieldOf(f: Flag): z.ZodType | undefined {
  if (f.option === undefined) return undefined;
  return ((f.schema ?? optionsSchema).shape as Record<string, z.ZodType | undefined>)[f.option];
}

/** The default of a flag as help shows it: the schema's value, or its words for one that is not fixed. */
export function defaultOf(f: Flag): string | undefined {
  if (f.default !== undefined) return f.default;
  const field = fieldOf(f);
  if (field === undefined) return undefined;
  const words = z.globalRegistry.get(field)?.['defaultText'];
  if (typeof words === 'string') return words;
  if (field instanceof z.ZodDefault) {
    const value: unknown = field.def.defaultValue;
    // A boolean flag is off unless given: "false" says nothing.
    return typeof value === 'boolean' ? undefined : String(value);
  }
  return undefined;
}

/** The environment variable a flag's option falls back to. */
export function envOf(f: Flag): string | undefined {
  if (f.option === undefined || f.schema !== undefined) return undefined;
  return (OPTION_ENV as Record<string, string | undefined>)[f.option];
}

/** Variables that no flag sets: the secrets stay out of shell history. */
export const ENVIRONMENT: readonly { name: string; help: string; default: string }[] = [
  {
    name: 'MASSIVE_ACCESS_KEY_ID, MASSIVE_SECRET_ACCESS_KEY',
    help: 'the S3 key pair',
    default:
      "the AWS SDK's default credential chain (env AWS_*, profiles, credential_process, SSO, instance roles); temporary credentials from it are refreshed before they expire, for every thread",
  },
  {
    name: 'MASSIVE_API_KEY',
    help: 'the REST API key (not the S3 pair), for the corporate actions of adjusted reads; never a flag, so it stays out of shell history',
    default: 'none: no adjusted reads of stocks until actions are stored',
  },
  {
    name: TOKEN_ENV,
    help: "serve's token (as --token, which it stands in for): every request but /healthz must send it as its API key",
    default: 'none: serve listens on loopback only',
  },
];
