// `sync`: brings everything a store holds up to the last published day. For each dataset and
// interval of its jobs, one run over the days after what is stored (and the week before it, where
// a republished file is caught by its new ETag): each new file is downloaded once and every
// symbol of every job on that dataset is extracted from it (an `--all` job takes every row).
import { addDays, todayUtc } from './market-time.js';
import { ConfigurationError } from './errors.js';
import { resolveOptions, type PreloadOptions, type ResolvedOptions } from './options.js';
import { planJobs, type JobPlan } from './plan.js';
import { runPlans } from './preload.js';
import type { PreloadReport } from './run/report.js';
import { allScope, isAllScope } from './store/scope.js';
import { lockForSync, withExistingStore, withStore } from './store/open.js';
import type { JobProgress, Store } from './store/types.js';

/** Days before the last stored one that a sync lists again: a file republished since is replaced. */
export const SYNC_OVERLAP_DAYS = 7;

/** One dataset and interval of a sync. */
export interface SyncPart {
  dataset: string;
  /** Stored interval: `1d`, or `1m` for minute files. */
  interval: '1d' | '1m';
  /** The symbols kept current (every job's on this dataset), or `['*']` when an `--all` job takes every row. */
  symbols: string[];
  /** The run of this part (its files, bytes, bars and failures). */
  report: PreloadReport;
}

export interface SyncReport {
  parts: SyncPart[];
  elapsedMs: number;
  /** A dry run (`dryRun`): each part's report says what a sync would download; nothing was. */
  dryRun?: true;
}

/** Where the store is and how to download; a sync takes no symbols and no window. */
export type SyncOptions = Omit<PreloadOptions, 'period' | 'start' | 'end' | 'interval' | 'dataset' | 'all' | 'clearProgress'>;

/**
 * Brings every dataset the store holds up to the last published day (see the README, "The
 * whole market"). On the SQLite cache one sync runs at a time: another one fails at once with
 * BusyError (`ERR_BUSY`); on a shared store concurrent syncs share the work like any job.
 *
 * @throws ConfigurationError when the store holds no job; BusyError; anything `preload` throws.
 * @example
 * const { parts } = await sync({ store: 'postgres://user:pass@db:5432/market' });
 */
export async function sync(options?: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const o = resolveOptions(options);
  // A dry run writes nothing: it needs no lock, and creates no store.
  const unlock = o.dryRun ? () => {} : lockForSync(o);
  const open = o.dryRun ? withExistingStore : withStore;
  try {
    const groups = await open(o, async (store: Store | undefined) => {
      const jobs = (await store?.listJobs()) ?? [];
      if (store === undefined || jobs.length === 0) {
        throw new ConfigurationError(`Nothing to sync: the store at ${store?.where ?? o.cacheDir} holds no job yet. Preload symbols (or --all) first.`);
      }
      return planGroups(store, jobs, o);
    });
    const parts: SyncPart[] = [];
    for (const g of groups) {
      // A ticker the newest days lack is delisted or halted, not a typo: a sync does not name it.
      const report = await runPlans([g.plan], o);
      delete report.unmatchedSymbols;
      delete report.unmatchedWindowFiles;
      parts.push({ dataset: g.plan.dataset, interval: g.plan.interval, symbols: g.symbols, report });
    }
    return { parts, elapsedMs: Math.round(performance.now() - started), ...(o.dryRun ? { dryRun: true as const } : {}) };
  } finally {
    unlock();
  }
}

interface Group {
  plan: JobPlan;
  symbols: string[];
}

/** One plan per dataset and interval: the union of its jobs' symbols, from a week before the oldest last stored day. */
async function planGroups(store: Store, jobs: readonly JobProgress[], o: ResolvedOptions): Promise<Group[]> {
  const byDataset = new Map<string, { dataset: string; interval: '1d' | '1m'; symbols: Set<string>; all: boolean }>();
  for (const j of jobs) {
    const interval = j.interval === '1m' ? '1m' : '1d';
    const key = `${j.dataset}\n${interval}`;
    const g = byDataset.get(key) ?? { dataset: j.dataset, interval, symbols: new Set<string>(), all: false };
    for (const s of j.symbols) {
      if (isAllScope(s)) g.all = true;
      else g.symbols.add(s);
    }
    byDataset.set(key, g);
  }
  const today = o.end ?? todayUtc(o.now);
  const groups: Group[] = [];
  for (const g of [...byDataset.values()].sort((a, b) => (a.dataset + a.interval < b.dataset + b.interval ? -1 : 1))) {
    const scopes = g.all ? [allScope(g.dataset)] : [...g.symbols].sort();
    const last = await lastStoredDay(store, scopes, g.interval, today);
    const start = addDays(last ?? today, -SYNC_OVERLAP_DAYS);
    const planOptions: ResolvedOptions = { ...o, dataset: g.dataset, interval: g.interval, start, end: undefined, period: undefined, all: g.all };
    const [plan] = planJobs(g.all ? [] : scopes, planOptions);
    if (plan) groups.push({ plan, symbols: g.all ? ['*'] : scopes });
  }
  return groups;
}

/**
 * The oldest of the scopes' last stored days that a completed run covered (undefined when none
 * has any). Days a killed run stored past a gap are not covered: starting after them would leave
 * the gap for ever; starting from the covered end, the run skips the files already done.
 */
async function lastStoredDay(store: Store, scopes: readonly string[], interval: string, today: string): Promise<string | undefined> {
  let oldest: string | undefined;
  for (const scope of scopes) {
    const days = [...(await store.ingestedDays(scope, interval, '0000-01-01', today)).keys()].sort();
    let last = days.at(-1);
    // Walks back from the newest stored day to the newest one coverage vouches for (usually the first).
    for (let i = days.length - 1; i >= 0; i--) {
      const day = days[i] as string;
      if (await store.isCovered(scope, interval, day, day)) {
        last = day;
        break;
      }
    }
    if (last !== undefined && (oldest === undefined || last < oldest)) oldest = last;
  }
  return oldest;
}
