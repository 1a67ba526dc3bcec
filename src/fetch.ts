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
  if (!o.clearProgress && isWindowCached(o.cacheDir, plan)) return readPlan(o.cacheDir, plan);
  await runPlans([plan], o);
  return readPlan(o.cacheDir, plan);
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
  return readPlan(o.cacheDir, onlyPlan(planJobs([symbol], o)));
}

/** What the progress store holds for the job of these symbols (as `preload` would group them). */
export function getProgress(symbols: string | readonly string[], options?: Pick<PreloadOptions, 'cacheDir' | 'interval'>): JobProgress[] {
  const o = resolveOptions(options);
  return withProgress(o.cacheDir, (progress) =>
    planJobs(toArray(symbols), o)
      .map((p) => progress.get(p.job))
      .filter((p): p is JobProgress => p !== undefined),
  );
}

/** Every job the progress store knows, most recently updated first. */
export function listProgress(options?: Pick<PreloadOptions, 'cacheDir'>): JobProgress[] {
  return withProgress(resolveOptions(options).cacheDir, (progress) => progress.list());
}

/**
 * Forgets the progress of the job of these symbols, so the next run downloads every file again.
 * Cached bars are kept (a reload upserts them). Returns how many completed keys were forgotten.
 */
export function clearProgress(symbols: string | readonly string[], options?: Pick<PreloadOptions, 'cacheDir' | 'interval'>): number {
  const o = resolveOptions(options);
  const db = openDatabase(o.cacheDir);
  try {
    const progress = new ProgressStore(db);
    const bars = new BarStore(db);
    let n = 0;
    for (const p of planJobs(toArray(symbols), o)) {
      n += clearJob(progress, bars, p.job, p.symbols.map((s) => s.ticker), p.interval);
    }
    return n;
  } finally {
    db.close();
  }
}

function toArray(symbols: string | readonly string[]): readonly string[] {
  return typeof symbols === 'string' ? [symbols] : symbols;
}

function onlyPlan(plans: JobPlan[]): JobPlan {
  const plan = plans[0];
  if (!plan) throw new RangeError('no plan');
  return plan;
}

function withProgress<T>(cacheDir: string, fn: (progress: ProgressStore) => T): T {
  const db = openDatabase(cacheDir);
  try {
    return fn(new ProgressStore(db));
  } finally {
    db.close();
  }
}

function isWindowCached(cacheDir: string, plan: JobPlan): boolean {
  if (plan.start === undefined) return false; // 'max' needs the listing to know where data starts
  const db = openDatabase(cacheDir);
  try {
    const bars = new BarStore(db);
    const ticker = plan.symbols[0]?.ticker ?? '';
    return plan.publishedEnd < plan.start || bars.isCovered(ticker, plan.interval, plan.start, plan.publishedEnd);
  } finally {
    db.close();
  }
}

function readPlan(cacheDir: string, plan: JobPlan): Bar[] {
  const db = openDatabase(cacheDir);
  try {
    const ticker = plan.symbols[0]?.ticker ?? '';
    const stored = new BarStore(db).read(ticker, plan.interval, plan.start ?? '0000-01-01', plan.end);
    if (plan.barInterval === '1d') return stored;
    return aggregate(stored, INTERVAL_MINUTES[plan.barInterval], plan.session);
  } finally {
    db.close();
  }
}
