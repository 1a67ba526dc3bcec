// serve's own options, validated once at the door (options.ts's parseOptions); where the store is
// and how --fill downloads are the library's usual options, validated by resolveOptions.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { PreloadOptions } from '../options.js';
import type { ApiRoute } from './api/types.js';

/** Answers computing at once by default: two per core (an answer waits on the store part of its time). */
export const DEFAULT_CONCURRENCY = Math.max(2, availableParallelism() * 2);

const int = (min: number, max: number, fallback: number, what: string) =>
  z.number().int().min(min).max(max).default(fallback).describe(`an integer from ${min} to ${max}${what}`);

export const serveSchema = z.object({
  /** The address to listen on; any other than loopback needs `token`. @default '127.0.0.1' */
  host: z.string().min(1).default('127.0.0.1').describe('an address like 127.0.0.1 or 0.0.0.0'),
  /** The port; 0 picks a free one (`listen()` says which). @default 8080 */
  port: int(0, 65_535, 8080, ''),
  /** The token every request but /healthz must present. @default `PRELOAD_SERVE_TOKEN` */
  token: z.string().min(8).optional().describe('a string of at least 8 characters'),
  /** Preload a window an answer finds missing, then answer (needs S3 credentials). @default false */
  fill: z.boolean().default(false).describe('a boolean'),
  /** Answers computing at once. @default two per core */
  concurrency: int(1, 1024, DEFAULT_CONCURRENCY, '').meta({ defaultText: 'two per core' }),
  /** Requests waiting for a slot; past them 503 at once. @default 64 */
  queue: int(0, 100_000, 64, ''),
  /** A request not answered within this many ms gets 503 with Retry-After. @default 10000 */
  timeLimitMs: int(1, 600_000, 10_000, ' (ms)'),
  /** Bytes of recent answers kept in memory; 0: no cache. @default 64 MiB */
  cacheBytes: int(0, 2 ** 40, 64 * 1024 * 1024, ' (bytes)'),
  /** Longest request URL accepted (414 past it). @default 2048 */
  maxUrlBytes: int(64, 65_536, 2048, ' (bytes)'),
  /** Receives the JSON log lines (fastify's pino: one per request, errors); none when undefined. */
  log: z
    .custom<(line: string) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
  /** The endpoints. @default API_ROUTES */
  routes: z
    .custom<readonly ApiRoute[]>((v) => Array.isArray(v))
    .optional()
    .describe('an array of routes'),
  /** The clock of the answers (tests set it). @default now */
  now: z
    .custom<() => Date>((v) => typeof v === 'function')
    .optional()
    .describe('a function returning a Date'),
});

/** What `createServer` takes: serve's own options, and where the store is and how `fill` downloads. */
export type ServeOptions = z.input<typeof serveSchema> &
  Pick<PreloadOptions, 'cacheDir' | 'store' | 'storeTimeoutMs' | 'endpoint' | 'bucket' | 'region' | 'credentials' | 'workers' | 'maxRps' | 'keepRaw' | 'apiKey' | 'apiEndpoint' | 'adjust'>;

export type ResolvedServeOptions = z.output<typeof serveSchema>;
