// The one door for options: every public function validates what it is given here, once, and
// passes the resolved object inward; nothing inside validates again. The schema is composed from
// pieces (where the bars are, which window, how they are read, how files are downloaded) that the
// CLI's command table reuses, and it holds every default: `z.input` is the public options type,
// `z.output` the resolved one (piscina's and p-queue's way), so neither is copied by hand.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDay } from './market-time.js';
import { InvalidOptionError } from './errors.js';
import type { Adjust } from './corporate-actions.js';
import type { Credentials } from './types.js';
import { isDatasetPrefix } from './symbols.js';
import type { PreloadEvent } from './events.js';
import { isStoreUrl, maskUrl } from './store-url.js';
import { DEFAULT_REGION } from './s3/client.js';

export const PERIODS = ['1mo', '3mo', '6mo', '1y', '2y', '5y', '10y', 'ytd', 'max'] as const;
export type Period = (typeof PERIODS)[number];
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '1d'] as const;
/** Minutes per bar of each intraday interval; they are all built from stored 1m bars. */
export const INTERVAL_MINUTES: Record<Exclude<Interval, '1d'>, number> = { '1m': 1, '5m': 5, '15m': 15, '30m': 30, '1h': 60 };
export const SESSIONS = ['regular', 'extended'] as const;
export type Interval = (typeof INTERVALS)[number];

export const ADJUST_MODES = ['splits', 'total', 'none'] as const satisfies readonly Adjust[];

/**
 * The environment variable each option falls back to (an explicit option wins). Read here only;
 * the CLI's help and the README's reference show them from this table.
 */
export const OPTION_ENV = {
  cacheDir: 'MARKET_DATA_CACHE_DIR',
  store: 'MARKET_DATA_STORE_URL',
  endpoint: 'MASSIVE_S3_ENDPOINT',
  bucket: 'MASSIVE_S3_BUCKET',
  region: 'MASSIVE_S3_REGION',
  apiKey: 'MASSIVE_API_KEY',
  apiEndpoint: 'MASSIVE_API_URL',
} as const satisfies Partial<Record<keyof z.input<typeof optionsSchema>, string>>;

/** The S3 key pair's variables (the AWS default chain when unset). */
export const CREDENTIAL_ENV = { accessKeyId: 'MASSIVE_ACCESS_KEY_ID', secretAccessKey: 'MASSIVE_SECRET_ACCESS_KEY' } as const;

/** Options whose value never appears in a message. */
const SECRET_OPTIONS: ReadonlySet<string> = new Set(['credentials', 'apiKey']);

const day = z.string().refine((s) => parseDay(s) !== undefined);
const inFlight = z.number().int().min(1).max(64);
const httpUrl = z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol));
const flag = z.boolean().default(false).describe('a boolean');
/** Milliseconds from `min` to `max`, described as its error says it. */
const ms = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback).describe(`an integer number of milliseconds from ${min} to ${max}`);

const credentialsSchema: z.ZodType<Credentials> = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

// `describe()` is what an option expects (the text of the error a bad value gets); `meta({ defaultText })`
// says the default in words where it is not a fixed value (the CLI's help and the README show it).

/** Where the bars are: the SQLite cache directory, or a shared PostgreSQL store. */
export const whereSchema = z.object({
  /** Directory of the SQLite cache. @default `MARKET_DATA_CACHE_DIR`, else `preload-market-data` in `$XDG_CACHE_HOME` or `~/.cache` */
  cacheDir: z.string().min(1).optional().describe('a directory path').meta({ defaultText: '$XDG_CACHE_HOME/preload-market-data, i.e. ~/.cache/preload-market-data' }),
  /** A PostgreSQL URL: the shared store instead of the SQLite cache. @default `MARKET_DATA_STORE_URL` */
  store: z
    .string()
    .refine(isStoreUrl)
    .optional()
    .describe('a PostgreSQL URL like postgres://user:password@host:5432/database')
    .meta({ defaultText: 'SQLite in the cache directory' }),
});

/** Which bars: the window and the dataset. */
export const windowSchema = z.object({
  /** The window, ending at `end`. @default 5y for stocks and indices, 2y crypto and forex, 1y options, 1mo intraday */
  period: z
    .enum(PERIODS)
    .optional()
    .describe(`one of ${PERIODS.join(', ')}`)
    .meta({ defaultText: 'by asset: 5y stocks and indices, 2y crypto and forex, 1y options; 1mo intraday' }),
  /** First day of the window (YYYY-MM-DD); instead of `period`. */
  start: day.optional().describe('a date YYYY-MM-DD'),
  /** Last day of the window (YYYY-MM-DD). @default the last published day */
  end: day.optional().describe('a date YYYY-MM-DD').meta({ defaultText: 'today, UTC' }),
  /** Bar interval; intraday intervals are built from stored 1m bars. @default '1d' */
  interval: z.enum(INTERVALS).default('1d').describe(`one of ${INTERVALS.join(', ')}`),
  /** Intraday bars of the regular session only, or extended hours too. @default 'extended' */
  session: z.enum(SESSIONS).default('extended').describe(`one of ${SESSIONS.join(', ')}`),
  /** A dataset prefix, overriding the one the symbol and interval imply. */
  dataset: z.string().refine(isDatasetPrefix).optional().describe('a dataset prefix like us_stocks_sip/day_aggs_v1').meta({ defaultText: 'from the symbol' }),
});

/** How stored bars are read: adjusted with the corporate actions of the REST API. */
export const readSchema = z.object({
  /**
   * How stock bars are adjusted when read: `splits` (prices before a split scaled by its ratio,
   * volume inversely), `total` (splits and cash dividends, as yfinance's auto_adjust), `none`
   * (as the files hold them). Needs the corporate actions of the REST API (`apiKey`).
   * @default 'splits'
   */
  adjust: z.enum(ADJUST_MODES).default('splits').describe(`one of ${ADJUST_MODES.join(', ')}`),
  /** The REST API key, for corporate actions (not the S3 key pair). @default `MASSIVE_API_KEY` */
  apiKey: z.string().min(1).optional().describe('a non-empty string').meta({ defaultText: 'none: adjusted reads use stored actions only' }),
  /** Base URL of the REST API. @default `MASSIVE_API_URL`, else `https://api.massive.com` */
  apiEndpoint: httpUrl.default('https://api.massive.com').describe('an http(s) URL'),
});

/** How files are listed and downloaded, and requests retried. */
export const downloadSchema = z.object({
  /** S3 endpoint of the flat files. @default `MASSIVE_S3_ENDPOINT`, else Massive's */
  endpoint: httpUrl.default('https://files.massive.com').describe('an http(s) URL'),
  /** @default `MASSIVE_S3_BUCKET`, else `flatfiles` */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
    .default('flatfiles')
    .describe('an S3 bucket name (3-63 lower-case letters, digits, dots or hyphens)'),
  /**
   * SigV4 region the requests are signed for, for S3-compatible endpoints other than Massive's.
   * @default `MASSIVE_S3_REGION`, else `us-east-1`
   * @example 'eu-central-1'
   */
  region: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .default(DEFAULT_REGION)
    .describe('a region name like us-east-1 (lower-case letters, digits and hyphens)'),
  /** @default `MASSIVE_ACCESS_KEY_ID` / `MASSIVE_SECRET_ACCESS_KEY`, else the AWS default chain */
  credentials: credentialsSchema.optional().describe('an object { accessKeyId, secretAccessKey, sessionToken? }'),
  /** Downloads in flight. @default 20 */
  workers: inFlight.default(20).describe('an integer from 1 to 64'),
  /** Worker threads that check and inflate. @default one per core (2 to 4), at most `workers` */
  threads: inFlight.optional().describe('an integer from 1 to 64').meta({ defaultText: 'min(workers, max(2, min(4, cores)))' }),
  /** Retries of a failed request. @default 5 */
  retries: z.number().int().min(0).max(20).default(5).describe('an integer from 0 to 20'),
  /** First retry delay in ms (then exponential, with jitter). @default 250 */
  retryDelayMs: ms(0, 60_000, 250),
  /** A request that does not answer within this many ms is cut and retried. @default 30000 */
  timeoutMs: ms(100, 600_000, 30_000),
  /**
   * How long a shared store that goes away mid-run (a PostgreSQL restart) is waited for, in ms:
   * the run pauses new claims, reconnects and goes on; past this it fails with `ERR_STORE`. 0
   * fails at once.
   * @default 60000
   */
  storeTimeoutMs: ms(0, 3_600_000, 60_000),
  /** Cap of requests a second (on a shared store: for every process on the job together). @default no cap */
  maxRps: z.number().positive().max(100_000).optional().describe('a number of requests per second above 0').meta({ defaultText: 'no cap' }),
  /** Keep each downloaded file in a raw mirror under the cache directory. @default false */
  keepRaw: flag,
  /** Read the raw mirror only, never the network. @default false */
  offline: flag,
  /**
   * List and plan only: the files, their bytes and what a rerun would skip are reported; nothing
   * is downloaded or written.
   * @default false
   */
  dryRun: flag,
});

/** How a call is driven: stopped, watched, and (in tests) what time it is. */
export const controlSchema = z.object({
  /** Stops the run; what is committed stays. */
  signal: z.instanceof(AbortSignal).optional().describe('an AbortSignal'),
  /** Receives the plan, progress snapshots and failures. */
  onProgress: z
    .custom<(event: PreloadEvent) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
  /** The clock, for tests. @default now */
  now: z
    .date()
    .default(() => new Date())
    .describe('a Date'),
});

/**
 * Options shared by `preload`, `fetchSymbol`, `sync` and the progress functions: the pieces above
 * and what only a run takes.
 */
export const optionsSchema = z.object({
  ...whereSchema.shape,
  ...windowSchema.shape,
  ...readSchema.shape,
  ...downloadSchema.shape,
  /**
   * Every row of every file of the window (the whole market), instead of named symbols: `preload`
   * is then called with no symbols. The dataset is `dataset`, else US stocks' day (or, for an
   * intraday `interval`, minute) aggregates.
   * @default false
   */
  all: flag,
  /** Forget the job's progress and start over. @default false */
  clearProgress: flag,
  ...controlSchema.shape,
});

/** What a caller may pass (every field optional). */
export type PreloadOptions = z.input<typeof optionsSchema>;

/** Every key present: an option nobody gave is `undefined`, not missing. */
type Filled<T> = { [K in keyof Required<T>]: T[K] };

/** The options with every default filled in, after one validation at the door. */
export type ResolvedOptions = Filled<Omit<z.output<typeof optionsSchema>, 'cacheDir'>> & {
  /** The SQLite cache's directory (also where the raw mirror lives when `store` is a URL). */
  cacheDir: string;
};

/** Renders a value for an error message without ever echoing credentials. */
export function describeValue(option: string, value: unknown): string {
  if (SECRET_OPTIONS.has(option)) return '(hidden)';
  if (option === 'store' && typeof value === 'string') return `\`${maskUrl(value)}\` (string)`;
  const shown = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

/**
 * Validates `input` with `schema`, filling its defaults. A failure becomes one InvalidOptionError
 * naming the first bad option, what it expects (its schema's description) and the value given
 * (never a secret's).
 */
export function parseOptions<S extends z.ZodObject>(schema: S, input: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const option = String(parsed.error.issues[0]?.path[0] ?? 'options');
  const value = input[option];
  const expected = (schema.shape as Record<string, z.ZodType | undefined>)[option]?.description ?? 'valid';
  throw new InvalidOptionError(option, SECRET_OPTIONS.has(option) ? undefined : value, `Expected \`${option}\` to be ${expected}, got ${describeValue(option, value)}`);
}

/**
 * Validates options once and fills defaults from the environment. Explicit options win over
 * `MASSIVE_*` / `MARKET_DATA_*` variables (an empty variable counts as unset).
 */
export function resolveOptions(input: PreloadOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const merged: Record<string, unknown> = { ...input };
  for (const [option, name] of Object.entries(OPTION_ENV)) merged[option] ??= env[name] || undefined;
  const keyId = env[CREDENTIAL_ENV.accessKeyId];
  const secret = env[CREDENTIAL_ENV.secretAccessKey];
  if (keyId && secret) merged['credentials'] ??= { accessKeyId: keyId, secretAccessKey: secret };
  const o = parseOptions(optionsSchema, merged);
  if (o.period !== undefined && o.start !== undefined) {
    throw new InvalidOptionError('period', o.period, 'Use either `period` or `start`, not both');
  }
  if (o.start !== undefined && o.end !== undefined && o.start > o.end) {
    throw new InvalidOptionError('start', o.start, `Expected \`start\` (${o.start}) to be on or before \`end\` (${o.end})`);
  }
  // Spelt out so that every key is present, as ResolvedOptions says (zod leaves absent ones out).
  return {
    ...o,
    cacheDir: o.cacheDir ?? defaultCacheDir(env),
    store: o.store,
    credentials: o.credentials,
    threads: o.threads,
    period: o.period,
    start: o.start,
    end: o.end,
    dataset: o.dataset,
    apiKey: o.apiKey,
    maxRps: o.maxRps,
    signal: o.signal,
    onProgress: o.onProgress,
  };
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'preload-market-data');
}
