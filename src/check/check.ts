// `checkStore`: what the store holds that looks wrong, each finding with its evidence. Reads the
// store and its stored corporate actions only (no network). `all`: one pass along the store's
// day-major key (Store.scanDays), a small state per ticker (series.ts); symbols: a read per ticker.
import { AbortedError, ConfigurationError, InvalidOptionError } from '../errors.js';
import { formatDay, sessionDay, todayUtc } from '../market-time.js';
import { parseOptions, resolveOptions, type PreloadOptions, type ResolvedOptions } from '../options.js';
import { periodStart, planJobs } from '../plan.js';
import { withExistingStore } from '../store/open.js';
import { allScope } from '../store/scope.js';
import type { Split } from '../corporate-actions.js';
import type { Store, StoredDayChunk } from '../store/types.js';
import { checkSplitRows } from './actions.js';
import { fileNoteFindings } from './files.js';
import { checkSchema } from './schema.js';
import { PAGE_ROWS, scanInThreads, scanParts, scanSeries, turn, TURN_EVERY_MS, type Read } from './scan.js';
import { TickerSeries, type FindingSink } from './series.js';
import { EVERY_TICKER, type CheckEvent, type CheckOptions, type CheckReport, type Finding, type FindingKind, type Severity } from './types.js';

/** What a check takes of the read options. */
const READ_KEYS = ['cacheDir', 'store', 'period', 'start', 'end', 'interval', 'dataset', 'now'] as const;
const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Checks the bars and corporate actions the store holds, and reports each finding with its ticker,
 * dates, kind, severity and evidence (docs/data-quality.md: every kind and threshold). Reads the
 * store only, never the network, and changes nothing. With no `period` or `start`, everything
 * stored.
 *
 * `all` checks every ticker stored for the interval in one pass along the store's day-major key,
 * keeping a small state per ticker (memory stays flat whatever the window); `symbols` reads each
 * one's bars. Rows of one ticker and time stored under two day files are seen by `all` only (a read
 * per ticker returns one bar per time).
 *
 * @throws InvalidOptionError for a bad option, symbols together with `all` (or neither), or a
 * symbol the store holds no bars of.
 * @throws ConfigurationError when the store holds no bars of the interval at all.
 * @throws AbortedError when `signal` stops it.
 * @example
 * const report = await checkStore({ all: true });
 * const errors = report.findings.filter((f) => f.severity === 'error');
 * const tsla = await checkStore({ symbols: ['TSLA'], period: '5y' });
 */
export async function checkStore(options: CheckOptions): Promise<CheckReport> {
  const started = Date.now();
  const c = parseOptions(checkSchema, { symbols: options.symbols, all: options.all, signal: options.signal, onProgress: options.onProgress });
  const symbols = c.symbols ?? [];
  if (c.all && symbols.length > 0) throw new InvalidOptionError('all', true, `check takes symbols or \`all\`, not both (got \`all\` and ${symbols.slice(0, 3).join(', ')})`);
  if (!c.all && symbols.length === 0) throw new InvalidOptionError('symbols', symbols, 'check takes at least one symbol, or `all`');
  const readInput: PreloadOptions = {};
  for (const key of READ_KEYS) if (options[key] !== undefined) Object.assign(readInput, { [key]: options[key] });
  // Like `show` and `export`: with no window given, everything stored.
  if (readInput.period === undefined && readInput.start === undefined) readInput.period = 'max';
  const o = resolveOptions(readInput);
  // Named symbols are resolved (and refused) before the store is opened.
  const plans = c.all ? undefined : planJobs(symbols, o);
  const interval = o.interval === '1d' ? '1d' : '1m';
  const end = o.end ?? todayUtc(o.now);
  const start = o.start ?? (o.period === undefined ? undefined : periodStart(o.period, end));
  const window = { interval, start: start ?? '0000-01-01', end } as const;
  const stopped = (): void => {
    if (c.signal?.aborted) throw new AbortedError('Check stopped');
  };
  const findings: Finding[] = [];
  const emit: FindingSink = (f) => findings.push(f);

  const read = await withExistingStore(o, async (store) => {
    const stored = store === undefined ? [] : await store.listSymbols(interval);
    if (store === undefined || stored.length === 0) throw emptyStore(store, o, interval);
    const wanted = plans?.flatMap((p) => p.symbols.map((s) => ({ symbol: s.symbol, ticker: s.ticker, dataset: p.dataset })));
    if (wanted !== undefined) {
      const held = new Set(stored);
      const unknown = wanted.find((w) => !held.has(w.ticker));
      if (unknown !== undefined) {
        throw new InvalidOptionError('symbols', unknown.symbol, `${unknown.symbol}: the store (${store.where}) holds no ${interval} bars of ${unknown.ticker}; check reads the store only`);
      }
    }
    const tickers = wanted?.map((w) => w.ticker) ?? stored;
    const splits = await storedSplits(store, tickers, window, emit, stopped);
    const pass: Pass = { window, splits, emit, stopped, signal: c.signal, onProgress: c.onProgress };
    const days = wanted === undefined ? await scanAll(store, stored, pass) : await readEach(store, wanted, pass);
    const only = wanted === undefined ? undefined : new Set(wanted.map((w) => w.ticker));
    const datasets = wanted === undefined ? undefined : new Set(wanted.map((w) => w.dataset));
    for (const note of await store.fileFindings()) {
      if (note.day < window.start || note.day > end || !note.dataset.endsWith(interval === '1d' ? '/day_aggs_v1' : '/minute_aggs_v1')) continue;
      if (datasets !== undefined && !datasets.has(note.dataset)) continue;
      findings.push(...fileNoteFindings(note, only === undefined ? undefined : (t) => only.has(t)));
    }
    return { where: store.where, ...days };
  });

  findings.sort(byOrder);
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  const kinds: Partial<Record<FindingKind, number>> = {};
  for (const f of findings) {
    counts[f.severity]++;
    kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  }
  return { store: read.where, interval, start, end, tickers: read.tickers, bars: read.bars, days: read.days, findings, counts, kinds, elapsedMs: Date.now() - started };
}

function emptyStore(store: Store | undefined, o: ResolvedOptions, interval: string): ConfigurationError {
  const where = store?.where ?? o.cacheDir;
  return new ConfigurationError(`The store (${where}) holds no ${interval} bars: nothing to check (fill it first, e.g. \`preload-market-data --all\`)`);
}

/** The stored splits of `tickers` (only those with any), their own rows checked on the way. */
async function storedSplits(store: Store, tickers: readonly string[], window: { start: string; end: string }, emit: FindingSink, stopped: () => void): Promise<Map<string, Split[]>> {
  const out = new Map<string, Split[]>();
  const fetched = await store.actionsFetchedAt(tickers);
  for (const ticker of fetched.keys()) {
    stopped();
    const actions = await store.getActions(ticker);
    if (actions === undefined || actions.splits.length === 0) continue;
    out.set(ticker, actions.splits);
    checkSplitRows(ticker, actions, window.start, window.end, emit);
  }
  return out;
}


/** What a pass over the bars is given. */
interface Pass {
  window: { interval: '1d' | '1m'; start: string; end: string };
  splits: ReadonlyMap<string, Split[]>;
  emit: FindingSink;
  stopped: () => void;
  signal: AbortSignal | undefined;
  onProgress: ((e: CheckEvent) => void) | undefined;
}

/**
 * Every ticker, in one pass along the store's day-major key: each day file's rows by ticker. A
 * SQLite store of many tickers is read by several threads at once, a range of tickers each.
 */
async function scanAll(store: Store, tickers: readonly string[], { window, splits, emit, stopped, signal, onProgress }: Pass): Promise<Read> {
  const parts = scanParts(store, tickers);
  const location = store.scanLocation();
  if (parts !== undefined && location !== undefined) return scanInThreads(location, window, parts, splits, emit, signal, onProgress);
  const onChunk = (c: StoredDayChunk): void => onProgress?.({ type: 'check-scan', day: c.day, rows: c.rows.length, daysDone: c.place, daysTotal: c.days });
  return scanSeries(store.scanDays(window.interval, window.start, window.end, PAGE_ROWS), window.interval === '1d', splits, emit, stopped, onChunk);
}

/** Named tickers, a read each; the calendar of each is the days ingested for it (or for an `--all` job of its dataset). */
async function readEach(store: Store, wanted: ReadonlyArray<{ symbol: string; ticker: string; dataset: string }>, { window, splits, emit, stopped, onProgress }: Pass): Promise<Read> {
  const daily = window.interval === '1d';
  const allDays = new Set<string>();
  let total = 0;
  let tickers = 0;
  let turned = performance.now();
  for (const [i, w] of wanted.entries()) {
    if (performance.now() - turned > TURN_EVERY_MS) {
      await turn();
      turned = performance.now();
    }
    stopped();
    const { interval, start, end } = window;
    const bars = await store.readBars(w.ticker, interval, start, end);
    const days = new Set([...(await store.ingestedDays(w.ticker, interval, start, end)).keys(), ...(await store.ingestedDays(allScope(w.dataset), interval, start, end)).keys()]);
    // A day bar's time is its file's day at midnight, New York (stocks) or UTC (crypto, forex): the UTC day of either.
    const fileDay = (time: number): string => (daily ? formatDay(time) : sessionDay(time));
    for (const b of bars) days.add(fileDay(b.time));
    const calendar = [...days].sort();
    for (const d of calendar) allDays.add(d);
    const place = new Map(calendar.map((d, n) => [d, n]));
    const s = new TickerSeries(w.ticker, daily, splits.get(w.ticker) ?? [], emit);
    for (const b of bars) {
      const day = fileDay(b.time);
      s.add(b.time, b.open, b.high, b.low, b.close, b.volume, b.transactions, day, day, place.get(day) ?? 0);
    }
    s.finish(calendar);
    total += bars.length;
    if (bars.length > 0) tickers++;
    onProgress?.({ type: 'check-symbol', symbol: w.symbol, rows: bars.length, symbolsDone: i + 1, symbolsTotal: wanted.length });
  }
  return { tickers, bars: total, days: allDays.size };
}

/** Errors first, then warnings, then info; by kind, ticker (file findings last) and first date. */
function byOrder(a: Finding, b: Finding): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    compare(a.kind, b.kind) ||
    Number(a.ticker === EVERY_TICKER) - Number(b.ticker === EVERY_TICKER) ||
    compare(a.ticker, b.ticker) ||
    compare(a.dates[0] ?? '', b.dates[0] ?? '')
  );
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
