import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { addDays, addMonths, lastPublishedDay, parseDay, todayUtc } from './dates.js';
import { InvalidOptionError } from './errors.js';
import { isDatasetPrefix, resolveSymbol, type AssetClass, type ResolvedSymbol } from './symbols.js';
import type { PreloadEvent } from './events.js';
import type { Session } from './cache/aggregate.js';
import { isStoreUrl, maskUrl } from './store/url.js';

export const PERIODS = ['1mo', '3mo', '6mo', '1y', '2y', '5y', '10y', 'ytd', 'max'] as const;
export type Period = (typeof PERIODS)[number];
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '1d'] as const;
/** Minutes per bar of each intraday interval; they are all built from stored 1m bars. */
export const INTERVAL_MINUTES: Record<Exclude<Interval, '1d'>, number> = { '1m': 1, '5m': 5, '15m': 15, '30m': 30, '1h': 60 };
export const SESSIONS = ['regular', 'extended'] as const;
export type Interval = (typeof INTERVALS)[number];

export const DEFAULT_ENDPOINT = 'https://files.massive.com';
export const DEFAULT_BUCKET = 'flatfiles';
export const DEFAULT_WORKERS = 20;
const DEFAULT_PERIOD: Record<AssetClass, Period> = { stock: '5y', index: '5y', crypto: '2y', forex: '2y', option: '1y' };
/** A minute file holds tens of MB: intraday windows default to a month, whatever the asset. */
const INTRADAY_PERIOD: Period = '1mo';

const day = z.string().refine((s) => parseDay(s) !== undefined);
const inFlight = z.number().int().min(1).max(64);

const credentialsSchema = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/** Options shared by `preload`, `fetchSymbol` and the progress functions. Defaults live here only. */
export const optionsSchema = z.object({
  cacheDir: z.string().min(1).optional(),
  store: z.string().refine(isStoreUrl).optional(),
  endpoint: z
    .string()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol))
    .optional(),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
    .optional(),
  workers: inFlight.default(DEFAULT_WORKERS),
  threads: inFlight.optional(),
  period: z.enum(PERIODS).optional(),
  start: day.optional(),
  end: day.optional(),
  interval: z.enum(INTERVALS).default('1d'),
  session: z.enum(SESSIONS).default('extended'),
  dataset: z.string().refine(isDatasetPrefix).optional(),
  credentials: credentialsSchema.optional(),
  clearProgress: z.boolean().default(false),
  keepRaw: z.boolean().default(false),
  offline: z.boolean().default(false),
  retries: z.number().int().min(0).max(20).default(5),
  retryDelayMs: z.number().int().min(0).max(60_000).default(250),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  maxRps: z.number().positive().max(100_000).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  onProgress: z.custom<(event: PreloadEvent) => void>((v) => typeof v === 'function').optional(),
  now: z.date().optional(),
});

/** What a caller may pass (every field optional). */
export type PreloadOptions = z.input<typeof optionsSchema>;
export type Credentials = z.output<typeof credentialsSchema>;

const EXPECTED: Record<string, string> = {
  cacheDir: 'a directory path',
  store: 'a PostgreSQL URL like postgres://user:password@host:5432/database',
  endpoint: 'an http(s) URL',
  bucket: 'an S3 bucket name (3-63 lower-case letters, digits, dots or hyphens)',
  workers: 'an integer from 1 to 64',
  threads: 'an integer from 1 to 64',
  period: `one of ${PERIODS.join(', ')}`,
  start: 'a date YYYY-MM-DD',
  end: 'a date YYYY-MM-DD',
  interval: `one of ${INTERVALS.join(', ')}`,
  session: `one of ${SESSIONS.join(', ')}`,
  dataset: 'a dataset prefix like us_stocks_sip/day_aggs_v1',
  credentials: 'an object { accessKeyId, secretAccessKey, sessionToken? }',
  clearProgress: 'a boolean',
  keepRaw: 'a boolean',
  offline: 'a boolean',
  retries: 'an integer from 0 to 20',
  retryDelayMs: 'an integer number of milliseconds from 0 to 60000',
  timeoutMs: 'an integer number of milliseconds from 100 to 600000',
  maxRps: 'a number of requests per second above 0',
  signal: 'an AbortSignal',
  onProgress: 'a function',
  now: 'a Date',
};

/** Renders a value for an error message without ever echoing credentials. */
export function describeValue(option: string, value: unknown): string {
  if (option === 'credentials') return '(hidden)';
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
  workers: number;
  threads: number | undefined;
  period: Period | undefined;
  start: string | undefined;
  end: string | undefined;
  interval: Interval;
  session: Session;
  dataset: string | undefined;
  credentials: Credentials | undefined;
  clearProgress: boolean;
  keepRaw: boolean;
  offline: boolean;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
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
  };
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = String(issue?.path[0] ?? 'options');
    const value = merged[option];
    throw new InvalidOptionError(
      option,
      option === 'credentials' ? undefined : value,
      `Expected \`${option}\` to be ${EXPECTED[option] ?? 'valid'}, got ${describeValue(option, value)}`,
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
    workers: o.workers,
    threads: o.threads,
    period: o.period,
    start: o.start,
    end: o.end,
    interval: o.interval,
    session: o.session,
    dataset: o.dataset,
    credentials: o.credentials ?? (keyId && secret ? { accessKeyId: keyId, secretAccessKey: secret } : undefined),
    clearProgress: o.clearProgress,
    keepRaw: o.keepRaw,
    offline: o.offline,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
    timeoutMs: o.timeoutMs,
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

/** One dataset's share of a run: the tickers it holds and the window of days to cover. */
export interface JobPlan {
  /** Progress-store job id: dataset, stored interval and the sorted tickers. */
  job: string;
  dataset: string;
  /** What is downloaded and stored: `1d`, or `1m` for every intraday interval. */
  interval: '1d' | '1m';
  /** What the caller reads: the stored bars, or intraday bars aggregated from stored minutes. */
  barInterval: Interval;
  session: Session;
  symbols: ResolvedSymbol[];
  /** First day of the window, or undefined for `max` (found from the listing). */
  start: string | undefined;
  end: string;
  /** Last day whose file should exist by now: coverage is recorded up to here, not past it. */
  publishedEnd: string;
  period: Period | undefined;
  /** True when the period was chosen from the asset class, not by the caller. */
  defaultPeriod: boolean;
}

export function jobId(dataset: string, interval: string, tickers: readonly string[]): string {
  return `${dataset}|${interval}|${[...tickers].sort().join(',')}`;
}

/** Resolves symbols and groups them by dataset, each group with its own window. */
export function planJobs(symbols: readonly string[], o: ResolvedOptions): JobPlan[] {
  if (symbols.length === 0) throw new InvalidOptionError('symbols', symbols, 'Expected at least one symbol, got none');
  const byDataset = new Map<string, ResolvedSymbol[]>();
  const intraday = o.interval !== '1d';
  for (const s of symbols) {
    const day = resolveSymbol(s, o.dataset);
    // Intraday bars come from the minute files of the same asset class.
    const r = intraday && o.dataset === undefined ? { ...day, dataset: day.dataset.replace(/\/day_aggs_v1$/, '/minute_aggs_v1') } : day;
    const list = byDataset.get(r.dataset) ?? [];
    if (!list.some((x) => x.ticker === r.ticker)) list.push(r);
    byDataset.set(r.dataset, list);
  }
  const today = todayUtc(o.now);
  const published = lastPublishedDay(o.now);
  return [...byDataset].map(([dataset, resolved]) => {
    const assetClass = resolved[0]?.assetClass ?? 'stock';
    const end = o.end ?? today;
    const period = o.start === undefined ? (o.period ?? (intraday ? INTRADAY_PERIOD : DEFAULT_PERIOD[assetClass])) : undefined;
    const start = o.start ?? (period === undefined ? undefined : periodStart(period, end));
    return {
      job: jobId(dataset, intraday ? '1m' : '1d', resolved.map((r) => r.ticker)),
      dataset,
      interval: intraday ? '1m' : '1d',
      barInterval: o.interval,
      session: o.session,
      symbols: resolved,
      start,
      end,
      publishedEnd: published < end ? published : end,
      period,
      defaultPeriod: o.start === undefined && o.period === undefined,
    };
  });
}

/** First day of a period ending on `end` (inclusive); undefined for `max`. */
export function periodStart(period: Period, end: string): string | undefined {
  switch (period) {
    case 'max':
      return undefined;
    case 'ytd':
      return `${end.slice(0, 4)}-01-01`;
    default: {
      const n = Number.parseInt(period, 10);
      const months = period.endsWith('mo') ? n : n * 12;
      // The day after `end - period`, so that '1y' is 365 or 366 days including both ends.
      return addDays(addMonths(end, -months), 1);
    }
  }
}

export type { ResolvedSymbol };
