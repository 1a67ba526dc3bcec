// serve's own options, validated once at the door (options.ts's parseOptions); where the store is
// and how --fill downloads are the library's usual options, validated by resolveOptions.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { PreloadOptions } from '../options.js';
import type { ApiRoute } from './api/types.js';

/**
 * Answers computing at once by default. PostgreSQL: two per core (an answer waits on the network
 * part of its time). SQLite: one, since its reads block the thread: more at once would not run in
 * parallel, only back to back in one turn of the event loop, which /healthz, the time limit and
 * the shedding of new requests would wait for.
 */
export function defaultConcurrency(store: 'sqlite' | 'postgres'): number {
  return store === 'sqlite' ? 1 : Math.max(2, availableParallelism() * 2);
}

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
  /** Answers computing at once. @default 1 on SQLite, two per core on PostgreSQL */
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .optional()
    .describe('an integer from 1 to 1024')
    .meta({ defaultText: '1 on SQLite (its reads block the thread), two per core on PostgreSQL' }),
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
  /**
   * Told when the store builds what fast reads by ticker need before the server listens (a SQLite
   * store after a large `--all`: ~20 s for 5 years of the whole market), and when it is done.
   */
  onIndex: z
    .custom<(e: { state: 'building' } | { state: 'built'; ms: number }) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
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
