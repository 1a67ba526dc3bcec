// The options of a run (`preload-market-data <SYMBOL...>`, `--all` and `sync`): the flags as
// typed and the library options they become (zod validates them, once, in resolveOptions).
import type { PreloadEvent } from '../events.js';
import type { PreloadOptions } from '../options.js';
import { WINDOW_FLAGS, windowOptions } from './flags.js';

/** Every option of the run command (exported for the demo, which reads the same arguments). */
export const FLAGS = {
  ...WINDOW_FLAGS,
  workers: { type: 'string' },
  threads: { type: 'string' },
  retries: { type: 'string' },
  'retry-delay-ms': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-rps': { type: 'string' },
  'store-timeout': { type: 'string' },
  all: { type: 'boolean' },
  'clear-progress': { type: 'boolean' },
  'keep-raw': { type: 'boolean' },
  offline: { type: 'boolean' },
  endpoint: { type: 'string' },
  bucket: { type: 'string' },
  'api-endpoint': { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Values = { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean | undefined : string | undefined };

/** The library options of the flags given. */
export function runOptions(v: Values, signal: AbortSignal, onProgress: (e: PreloadEvent) => void): PreloadOptions {
  return {
    ...windowOptions(v),
    ...(v.workers !== undefined && { workers: int(v.workers) }),
    ...(v.threads !== undefined && { threads: int(v.threads) }),
    ...(v.retries !== undefined && { retries: int(v.retries) }),
    ...(v['retry-delay-ms'] !== undefined && { retryDelayMs: int(v['retry-delay-ms']) }),
    ...(v['timeout-ms'] !== undefined && { timeoutMs: int(v['timeout-ms']) }),
    ...(v['max-rps'] !== undefined && { maxRps: num(v['max-rps']) }),
    ...(v['store-timeout'] !== undefined && { storeTimeoutMs: int(v['store-timeout']) }),
    ...(v.endpoint !== undefined && { endpoint: v.endpoint }),
    ...(v.bucket !== undefined && { bucket: v.bucket }),
    ...(v['api-endpoint'] !== undefined && { apiEndpoint: v['api-endpoint'] }),
    ...(v.region !== undefined && { region: v.region }),
    all: Boolean(v.all),
    clearProgress: Boolean(v['clear-progress']),
    keepRaw: Boolean(v['keep-raw']),
    offline: Boolean(v.offline),
    signal,
    onProgress,
  };
}

/** Integers become numbers; anything else is passed through as is, so validation echoes it. */
function int(s: string): number {
  return /^-?\d+$/.test(s.trim()) ? Number(s) : (s as unknown as number);
}

/** Like int(), for decimals. */
function num(s: string): number {
  return /^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : (s as unknown as number);
}
