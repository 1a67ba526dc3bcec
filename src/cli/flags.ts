// Flags shared by `preload-market-data <SYMBOL...>` and `show`: which bars, from which store.
import type { PreloadOptions } from '../options.js';

export const WINDOW_FLAGS = {
  period: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  interval: { type: 'string' },
  session: { type: 'string' },
  adjust: { type: 'string' },
  dataset: { type: 'string' },
  'cache-dir': { type: 'string' },
  store: { type: 'string' },
} as const;

type WindowValues = { [K in keyof typeof WINDOW_FLAGS]?: string | undefined };

/** The window options given on the command line; strings go through as typed, zod validates them. */
export function windowOptions(v: WindowValues): PreloadOptions {
  return {
    ...(v.period !== undefined && { period: v.period as PreloadOptions['period'] }),
    ...(v.start !== undefined && { start: v.start }),
    ...(v.end !== undefined && { end: v.end }),
    ...(v.interval !== undefined && { interval: v.interval as PreloadOptions['interval'] }),
    ...(v.session !== undefined && { session: v.session as PreloadOptions['session'] }),
    ...(v.adjust !== undefined && { adjust: v.adjust as PreloadOptions['adjust'] }),
    ...(v.dataset !== undefined && { dataset: v.dataset }),
    ...(v['cache-dir'] !== undefined && { cacheDir: v['cache-dir'] }),
    ...(v.store !== undefined && { store: v.store }),
  };
}
