import { BarStore, type Bar } from './cache/bars.js';
import { openDatabase } from './cache/database.js';
import { aggregate } from './cache/aggregate.js';
import { INTERVAL_MINUTES, planJobs, resolveOptions, type JobPlan, type PreloadOptions } from './options.js';
import { clearJob, runPlans } from './preload.js';
import { ProgressStore, type JobProgress } from './progress/store.js';

/**
 * Bars of one symbol for a window, oldest first. Served from the cache without any network
 * when the window is known complete there; otherwise the missing days are downloaded first.
 *
 * @example
 * const bars = await fetchSymbol('TSLA', { period: '5y' });
 */
export async function fetchSymbol(symbol: string, options?: PreloadOptions): Promise<Bar[]> {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  if (!o.clearProgress) {
    // One connection answers the warm case: the coverage check and the read.
    const cached = withCache(o.cacheDir, ({ bars }) => (isWindowCached(bars, plan) ? readPlan(bars, plan) : undefined));
    if (cached) return cached;
  }
  await runPlans([plan], o);
  return withCache(o.cacheDir, ({ bars }) => readPlan(bars, plan));
}

/**
 * Bars of one symbol already in the cache for a window, oldest first. Never touches the
 * network; days not downloaded yet are simply absent.
 */
export function readBars(
  symbol: string,
  options?: Pick<PreloadOptions, 'cacheDir' | 'period' | 'start' | 'end' | 'interval' | 'session' | 'dataset' | 'now'>,
): Bar[] {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  return withCache(o.cacheDir, ({ bars }) => readPlan(bars, plan));
}

/** What the progress store holds for the job of these symbols (as `preload` would group them). */
export function getProgress(symbols: string | readonly string[], options?: Pick<PreloadOptions, 'cacheDir' | 'interval'>): JobProgress[] {
  const o = resolveOptions(options);
  return withCache(o.cacheDir, ({ progress }) =>
    planJobs(toArray(symbols), o)
      .map((p) => progress.get(p.job))
      .filter((p): p is JobProgress => p !== undefined),
  );
}

/** Every job the progress store knows, most recently updated first. */
export function listProgress(options?: Pick<PreloadOptions, 'cacheDir'>): JobProgress[] {
  return withCache(resolveOptions(options).cacheDir, ({ progress }) => progress.list());
}

/**
 * Forgets the progress of the job of these symbols, so the next run downloads every file again.
 * Cached bars are kept (a reload upserts them). Returns how many completed keys were forgotten.
 */
export function clearProgress(symbols: string | readonly string[], options?: Pick<PreloadOptions, 'cacheDir' | 'interval'>): number {
  const o = resolveOptions(options);
  return withCache(o.cacheDir, ({ progress, bars }) =>
    planJobs(toArray(symbols), o).reduce((n, p) => n + clearJob(progress, bars, p.job, p.symbols.map((s) => s.ticker), p.interval), 0),
  );
}

function toArray(symbols: string | readonly string[]): readonly string[] {
  return typeof symbols === 'string' ? [symbols] : symbols;
}

function onlyPlan(plans: JobPlan[]): JobPlan {
  const plan = plans[0];
  if (!plan) throw new RangeError('no plan');
  return plan;
}

/** Opens the cache for one call and closes it again, whatever happens. */
function withCache<T>(cacheDir: string, fn: (stores: { bars: BarStore; progress: ProgressStore }) => T): T {
  const db = openDatabase(cacheDir);
  try {
    return fn({ bars: new BarStore(db), progress: new ProgressStore(db) });
  } finally {
    db.close();
  }
}

function isWindowCached(bars: BarStore, plan: JobPlan): boolean {
  if (plan.start === undefined) return false; // 'max' needs the listing to know where data starts
  return plan.publishedEnd < plan.start || bars.isCovered(tickerOf(plan), plan.interval, plan.start, plan.publishedEnd);
}

function readPlan(bars: BarStore, plan: JobPlan): Bar[] {
  const stored = bars.read(tickerOf(plan), plan.interval, plan.start ?? '0000-01-01', plan.end);
  if (plan.barInterval === '1d') return stored;
  return aggregate(stored, INTERVAL_MINUTES[plan.barInterval], plan.session);
}

function tickerOf(plan: JobPlan): string {
  return plan.symbols[0]?.ticker ?? '';
}
