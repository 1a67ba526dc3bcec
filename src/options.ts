import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDay, type Session } from './market-time.js';
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
export const DEFAULT_ENDPOINT = 'https://files.massive.com';
export const DEFAULT_API_ENDPOINT = 'https://api.massive.com';
export const DEFAULT_BUCKET = 'flatfiles';
export const DEFAULT_WORKERS = 20;

const day = z.string().refine((s) => parseDay(s) !== undefined);
const inFlight = z.number().int().min(1).max(64);

const credentialsSchema: z.ZodType<Credentials> = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/**
 * Options shared by `preload`, `fetchSymbol` and the progress functions. Defaults live here only,
 * and so does what each option expects: the text of the error a bad value gets.
 */
export const optionsSchema = z.object({
  /** Directory of the SQLite cache. @default `MARKET_DATA_CACHE_DIR`, else `preload-market-data` in `$XDG_CACHE_HOME` or `~/.cache` */
  cacheDir: z.string().min(1).optional().describe('a directory path'),
  /** A PostgreSQL URL: the shared store instead of the SQLite cache. @default `MARKET_DATA_STORE_URL` */
  store: z.string().refine(isStoreUrl).optional().describe('a PostgreSQL URL like postgres://user:password@host:5432/database'),
  /** S3 endpoint of the flat files. @default `MASSIVE_S3_ENDPOINT`, else Massive's */
  endpoint: z
    .string()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol))
    .optional()
    .describe('an http(s) URL'),
  /** @default `MASSIVE_S3_BUCKET`, else `flatfiles` */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
    .optional()
    .describe('an S3 bucket name (3-63 lower-case letters, digits, dots or hyphens)'),
  /**
   * SigV4 region the requests are signed for, for S3-compatible endpoints other than Massive's.
   * @default `MASSIVE_S3_REGION`, else `us-east-1`
   * @example 'eu-central-1'
   */
  region: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .optional()
    .describe('a region name like us-east-1 (lower-case letters, digits and hyphens)'),
  /** Downloads in flight. @default 20 */
  workers: inFlight.default(DEFAULT_WORKERS).describe('an integer from 1 to 64'),
  /** Worker threads that check and inflate. @default one per core (2 to 4), at most `workers` */
  threads: inFlight.optional().describe('an integer from 1 to 64'),
  /** The window, ending at `end`. @default 5y for stocks and indices, 2y crypto and forex, 1y options, 1mo intraday */
  period: z.enum(PERIODS).optional().describe(`one of ${PERIODS.join(', ')}`),
  /** First day of the window (YYYY-MM-DD); instead of `period`. */
  start: day.optional().describe('a date YYYY-MM-DD'),
  /** Last day of the window (YYYY-MM-DD). @default the last published day */
  end: day.optional().describe('a date YYYY-MM-DD'),
  /** Bar interval; intraday intervals are built from stored 1m bars. @default '1d' */
  interval: z.enum(INTERVALS).default('1d').describe(`one of ${INTERVALS.join(', ')}`),
  /** Intraday bars of the regular session only, or extended hours too. @default 'extended' */
  session: z.enum(SESSIONS).default('extended').describe(`one of ${SESSIONS.join(', ')}`),
  /**
   * How stock bars are adjusted when read: `splits` (prices before a split scaled by its ratio,
   * volume inversely), `total` (splits and cash dividends, as yfinance's auto_adjust), `none`
   * (as the files hold them). Needs the corporate actions of the REST API (`apiKey`).
   * @default 'splits'
   */
  adjust: z.enum(ADJUST_MODES).default('splits').describe(`one of ${ADJUST_MODES.join(', ')}`),
  /** The REST API key, for corporate actions (not the S3 key pair). @default `MASSIVE_API_KEY` */
  apiKey: z.string().min(1).optional().describe('a non-empty string'),
  /** Base URL of the REST API. @default `MASSIVE_API_URL`, else `https://api.massive.com` */
  apiEndpoint: z
    .string()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol))
    .optional()
    .describe('an http(s) URL'),
  /** A dataset prefix, overriding the one the symbol and interval imply. */
  dataset: z.string().refine(isDatasetPrefix).optional().describe('a dataset prefix like us_stocks_sip/day_aggs_v1'),
  /** @default `MASSIVE_ACCESS_KEY_ID` / `MASSIVE_SECRET_ACCESS_KEY`, else the AWS default chain */
  credentials: credentialsSchema.optional().describe('an object { accessKeyId, secretAccessKey, sessionToken? }'),
  /**
   * Every row of every file of the window (the whole market), instead of named symbols: `preload`
   * is then called with no symbols. The dataset is `dataset`, else US stocks' day (or, for an
   * intraday `interval`, minute) aggregates.
   * @default false
   */
  all: z.boolean().default(false).describe('a boolean'),
  /** Forget the job's progress and start over. @default false */
  clearProgress: z.boolean().default(false).describe('a boolean'),
  /**
   * List and plan only: which files the window has, their bytes, what is already done and what a
   * run would download. Nothing is downloaded, nothing written to the store, no REST call.
   * @default false
   */
  dryRun: z.boolean().default(false).describe('a boolean'),
  /** Keep each downloaded file in a raw mirror under the cache directory. @default false */
  keepRaw: z.boolean().default(false).describe('a boolean'),
  /** Read the raw mirror only, never the network. @default false */
  offline: z.boolean().default(false).describe('a boolean'),
  /** Retries of a failed request. @default 5 */
  retries: z.number().int().min(0).max(20).default(5).describe('an integer from 0 to 20'),
  /** First retry delay in ms (then exponential, with jitter). @default 250 */
  retryDelayMs: z.number().int().min(0).max(60_000).default(250).describe('an integer number of milliseconds from 0 to 60000'),
  /** A request that does not answer within this many ms is cut and retried. @default 30000 */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000).describe('an integer number of milliseconds from 100 to 600000'),
  /**
   * How long a shared store that goes away mid-run (a PostgreSQL restart) is waited for, in ms:
   * the run pauses new claims, reconnects and goes on; past this it fails with `ERR_STORE`. 0
   * fails at once.
   * @default 60000
   */
  storeTimeoutMs: z.number().int().min(0).max(3_600_000).default(60_000).describe('an integer number of milliseconds from 0 to 3600000'),
  /** Cap of requests a second (on a shared store: for every process on the job together). @default no cap */
  maxRps: z.number().positive().max(100_000).optional().describe('a number of requests per second above 0'),
  /** Stops the run; what is committed stays. */
  signal: z.instanceof(AbortSignal).optional().describe('an AbortSignal'),
  /** Receives the plan, progress snapshots and failures. */
  onProgress: z
    .custom<(event: PreloadEvent) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
  /** The clock, for tests. @default now */
  now: z.date().optional().describe('a Date'),
});

/** What a caller may pass (every field optional). */
export type PreloadOptions = z.input<typeof optionsSchema>;

/** What an option expects, as its error says it. */
function expected(option: string): string {
  const field = (optionsSchema.shape as Record<string, z.ZodType | undefined>)[option];
  return field?.description ?? 'valid';
}

/** Renders a value for an error message without ever echoing credentials. */
export function describeValue(option: string, value: unknown): string {
  if (option === 'credentials' || option === 'apiKey') return '(hidden)';
  if (option === 'store' && typeof value === 'string') return `\`${maskUrl(value)}\` (string)`;
  const shown = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

/** The options with every default filled in, after one validation at the door. */
export interface ResolvedOptions {
  cacheDir: string;
  /** A PostgreSQL URL: the shared store; undefined: the SQLite file in `cacheDir`. */
  store: string | undefined;
  endpoint: string;
  bucket: string;
  /** The SigV4 region of the endpoint. */
  region: string;
  workers: number;
  threads: number | undefined;
  period: Period | undefined;
  start: string | undefined;
  end: string | undefined;
  interval: Interval;
  session: Session;
  adjust: Adjust;
  /** The REST API key; undefined: none given (adjusted reads use stored actions only). */
  apiKey: string | undefined;
  apiEndpoint: string;
  dataset: string | undefined;
  credentials: Credentials | undefined;
  all: boolean;
  clearProgress: boolean;
  dryRun: boolean;
  keepRaw: boolean;
  offline: boolean;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  storeTimeoutMs: number;
  maxRps: number | undefined;
  signal: AbortSignal | undefined;
  onProgress: ((event: PreloadEvent) => void) | undefined;
  now: Date;
}

/**
 * Validates options once and fills defaults from the environment. Explicit options win over
 * `MASSIVE_*` / `MARKET_DATA_CACHE_DIR` variables.
 */
export function resolveOptions(input: PreloadOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const merged: Record<string, unknown> = {
    ...input,
    cacheDir: input.cacheDir ?? env['MARKET_DATA_CACHE_DIR'] ?? undefined,
    store: input.store ?? (env['MARKET_DATA_STORE_URL'] || undefined),
    endpoint: input.endpoint ?? env['MASSIVE_S3_ENDPOINT'] ?? DEFAULT_ENDPOINT,
    bucket: input.bucket ?? env['MASSIVE_S3_BUCKET'] ?? DEFAULT_BUCKET,
    apiKey: input.apiKey ?? (env['MASSIVE_API_KEY'] || undefined),
    apiEndpoint: input.apiEndpoint ?? (env['MASSIVE_API_URL'] || undefined),
    region: input.region ?? (env['MASSIVE_S3_REGION'] || undefined),
  };
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = String(issue?.path[0] ?? 'options');
    const value = merged[option];
    throw new InvalidOptionError(
      option,
      option === 'credentials' || option === 'apiKey' ? undefined : value,
      `Expected \`${option}\` to be ${expected(option)}, got ${describeValue(option, value)}`,
    );
  }
  const o = parsed.data;
  if (o.period !== undefined && o.start !== undefined) {
    throw new InvalidOptionError('period', o.period, 'Use either `period` or `start`, not both');
  }
  if (o.start !== undefined && o.end !== undefined && o.start > o.end) {
    throw new InvalidOptionError('start', o.start, `Expected \`start\` (${o.start}) to be on or before \`end\` (${o.end})`);
  }
  const keyId = env['MASSIVE_ACCESS_KEY_ID'];
  const secret = env['MASSIVE_SECRET_ACCESS_KEY'];
  return {
    cacheDir: o.cacheDir ?? defaultCacheDir(env),
    store: o.store,
    endpoint: o.endpoint ?? DEFAULT_ENDPOINT,
    bucket: o.bucket ?? DEFAULT_BUCKET,
    region: o.region ?? DEFAULT_REGION,
    workers: o.workers,
    threads: o.threads,
    period: o.period,
    start: o.start,
    end: o.end,
    interval: o.interval,
    session: o.session,
    adjust: o.adjust,
    apiKey: o.apiKey,
    apiEndpoint: o.apiEndpoint ?? DEFAULT_API_ENDPOINT,
    dataset: o.dataset,
    credentials: o.credentials ?? (keyId && secret ? { accessKeyId: keyId, secretAccessKey: secret } : undefined),
    all: o.all,
    clearProgress: o.clearProgress,
    dryRun: o.dryRun,
    keepRaw: o.keepRaw,
    offline: o.offline,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
    timeoutMs: o.timeoutMs,
    storeTimeoutMs: o.storeTimeoutMs,
    maxRps: o.maxRps,
    signal: o.signal,
    onProgress: o.onProgress,
    now: o.now ?? new Date(),
  };
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'preload-market-data');
}
