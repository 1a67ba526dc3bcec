// checkStore on a real SQLite store filled through the store's own write path (a job, a queue,
// completed files with their notes), with every finding kind planted on a ticker of its own next
// to clean ones. What is expected comes from the PLANTED table below, written from the rows this
// test stores, never from what checkStore printed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, checkStore, ConfigurationError, InvalidOptionError, type CheckEvent, type Finding, type FindingKind } from '../../src/index.js';
import { scanInThreads, scanParts } from '../../src/check/scan.js';
import type { Split } from '../../src/corporate-actions.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { BarConflict, CompletedFile, FileNote, JobSpec, Store } from '../../src/store/types.js';
import type { DayFile, ParsedRow } from '../../src/types.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
/** 130 weekdays from 2024-01-02. */
const DAYS = (() => {
  const out: string[] = [];
  for (let t = Date.parse('2024-01-02T00:00:00Z'); out.length < 130; t += 86_400_000) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
})();
const day = (i: number): string => DAYS[i] as string;
const timeOf = (d: string): number => Date.parse(`${d}T05:00:00Z`);

const CLEAN = ['CLEAN', 'SPLT', 'CALM'] as const;
const TICKERS = [...CLEAN, 'MISS', 'PHAN', 'IMP', 'ZERO', 'GAPT', 'REUS', 'FACT', 'TYPE', 'DUPR', 'REVS', 'XDUP'] as const;
type Ticker = (typeof TICKERS)[number];

/** What is planted: ticker, kind and the date the finding must name. */
const PLANTED: ReadonlyArray<{ ticker: string; kind: FindingKind; date: string }> = [
  { ticker: 'MISS', kind: 'split-missing', date: day(50) },
  { ticker: 'PHAN', kind: 'split-not-seen', date: day(30) },
  { ticker: 'PHAN', kind: 'split-repeated', date: day(30) },
  { ticker: 'IMP', kind: 'impossible-bar', date: day(20) },
  { ticker: 'IMP', kind: 'impossible-bar', date: day(21) },
  { ticker: 'ZERO', kind: 'zero-volume', date: day(10) },
  { ticker: 'GAPT', kind: 'missing-days', date: day(60) },
  { ticker: 'REUS', kind: 'missing-days', date: day(10) },
  { ticker: 'REUS', kind: 'ticker-reused', date: day(80) },
  { ticker: 'FACT', kind: 'split-factor-mismatch', date: day(40) },
  { ticker: 'TYPE', kind: 'split-type-mismatch', date: day(40) },
  { ticker: 'DUPR', kind: 'duplicate-rows', date: day(5) },
  { ticker: 'REVS', kind: 'revised-bars', date: day(6) },
  { ticker: 'XDUP', kind: 'duplicate-across-files', date: day(12) },
  { ticker: '*', kind: 'misdated-file', date: day(7) },
];

/** The ticker's raw close on day i: a calm wiggle, then each planted move. */
function close(t: Ticker, i: number): number {
  const base = 50 + 10 * TICKERS.indexOf(t) + Math.sin(i / 3);
  if (t === 'SPLT' || t === 'FACT' || t === 'TYPE') return i < 40 ? base * 2 : base; // a 2-for-1 split on day 40, stored
  if (t === 'MISS') return i < 50 ? base * 4 : base; // a 4-for-1 split on day 50, not stored
  if (t === 'PHAN') return i < 35 ? base * 10 : base; // 10-for-1 on day 35; stored on days 30 and 35
  if (t === 'REUS') return i < 80 ? base : base * 3; // back after 70 days at 3x
  return base;
}

function absent(t: Ticker, i: number): boolean {
  return (t === 'GAPT' && (i === 60 || i === 61)) || (t === 'REUS' && i >= 10 && i < 80);
}

function row(t: Ticker, i: number): ParsedRow {
  const c = close(t, i);
  const bar = { ticker: t, time: timeOf(day(i)), open: c * 0.995, high: c * 1.01, low: c * 0.98, close: c, volume: 1000 + i, transactions: 10 + i };
  if (t === 'IMP' && i === 20) return { ...bar, high: c * 0.9 }; // high below close
  if (t === 'IMP' && i === 21) return { ...bar, low: 0, open: 0 }; // a price of 0
  if (t === 'ZERO' && i === 10) return { ...bar, volume: 0, transactions: 0 };
  return bar;
}

const split = (ticker: string, d: string, from: number, to: number, extra: Partial<Split> = {}): Split => ({
  ticker,
  executionDate: d,
  splitFrom: from,
  splitTo: to,
  adjustmentType: to > from ? 'forward_split' : 'reverse_split',
  historicalAdjustmentFactor: from / to,
  id: `E${ticker}${d}`,
  ...extra,
});

const ACTIONS = new Map([
  ['SPLT', { splits: [split('SPLT', day(40), 1, 2)], dividends: [] }],
  ['CALM', { splits: [], dividends: [] }],
  ['PHAN', { splits: [split('PHAN', day(30), 1, 10, { historicalAdjustmentFactor: 0.01 }), split('PHAN', day(35), 1, 10)], dividends: [] }],
  ['FACT', { splits: [split('FACT', day(40), 1, 2, { historicalAdjustmentFactor: 0.25 })], dividends: [] }],
  ['TYPE', { splits: [split('TYPE', day(40), 1, 2, { adjustmentType: 'reverse_split' })], dividends: [] }],
]);

const bv = (r: ParsedRow) => ({ open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume, transactions: r.transactions });
const conflict = (t: Ticker, i: number, bump: number): BarConflict => {
  const r = row(t, i);
  return { ticker: t, time: r.time, before: bv(r), after: { ...bv(r), close: r.close + bump } };
};

/** Notes as a run records them, with the file's bars (the store's own path: CompletedFile.notes). */
const NOTES = new Map<string, FileNote[]>([
  [day(5), [{ kind: 'duplicate', detail: { rows: 1, examples: [conflict('DUPR', 5, 1)] } }]],
  [day(6), [{ kind: 'revised', detail: { rows: 1, added: 0, removed: 0, examples: [conflict('REVS', 6, -2)] } }]],
  [day(7), [{ kind: 'misdated', detail: { rows: TICKERS.length, claimedDate: day(8) } }]],
]);

const dayFile = (d: string): DayFile => ({ key: `${DATASET}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d}.csv.gz`, day: d, size: 1, etag: `e-${d}`, lastModified: undefined });

async function fill(store: Store): Promise<void> {
  const job: JobSpec = { job: 'check-test', dataset: DATASET, interval: '1d', tickers: TICKERS };
  await store.prepareJob(job, { clear: false });
  const queue = await store.openQueue([job]);
  try {
    await queue.offer(job, DAYS.map(dayFile));
    const items = await queue.claim(DAYS.length);
    const done: CompletedFile[] = items.map((item) => {
      const i = DAYS.indexOf(item.file.day);
      const rows = TICKERS.filter((t) => !absent(t, i)).map((t) => row(t, i));
      // XDUP's bar of day 12 is in the day-13 file too, with another close: one time under two files.
      if (i === 13) rows.push({ ...row('XDUP', 12), close: row('XDUP', 12).close + 5 });
      const notes = NOTES.get(item.file.day);
      return { job, file: item.file, rows: rows.sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : a.time - b.time)), ...(notes ? { notes } : {}) };
    });
    await queue.complete(done);
  } finally {
    await queue.close();
  }
  await store.replaceActions(ACTIONS, new Date().toISOString());
}

let root: string;
let cacheDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmd-check-'));
  cacheDir = join(root, 'cache');
  const store = openSqliteStore(cacheDir);
  try {
    await fill(store);
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const found = (fs: readonly Finding[], p: { ticker: string; kind: FindingKind; date: string }): boolean => fs.some((f) => f.ticker === p.ticker && f.kind === p.kind && f.dates.includes(p.date));

describe('checkStore', () => {
  it('finds every planted finding with its ticker, kind and date in one scan of the store (all)', async () => {
    const events: CheckEvent[] = [];
    const r = await checkStore({ all: true, cacheDir, onProgress: (e) => events.push(e) });
    for (const p of PLANTED) expect(found(r.findings, p), JSON.stringify(p)).toBe(true);
    // Nothing on the clean tickers, SPLT's stored split included; nothing beyond what was planted.
    for (const f of r.findings) expect(PLANTED.some((p) => p.ticker === f.ticker && p.kind === f.kind), JSON.stringify(f)).toBe(true);
    expect(r.findings.filter((f) => (CLEAN as readonly string[]).includes(f.ticker))).toEqual([]);
    expect(r.days).toBe(DAYS.length);
    expect(r.tickers).toBe(TICKERS.length);
    expect(events.filter((e) => e.type === 'check-scan').map((e) => (e as { day: string }).day)).toEqual(DAYS);
  });

  it('names the evidence: the days missed, the move and the ratio, the bars kept against dropped', async () => {
    const r = await checkStore({ all: true, cacheDir });
    const of = (ticker: string, kind: FindingKind): Finding | undefined => r.findings.find((f) => f.ticker === ticker && f.kind === kind);
    expect(of('GAPT', 'missing-days')?.dates).toEqual([day(60), day(61)]);
    expect(of('REUS', 'missing-days')?.dates).toEqual(DAYS.slice(10, 80));
    expect(of('REUS', 'ticker-reused')?.evidence).toMatchObject({ lastDay: day(9), day: day(80), absentDays: 70, lastClose: close('REUS', 9), close: close('REUS', 80) });
    expect(of('MISS', 'split-missing')).toMatchObject({ severity: 'warning', dates: [day(49), day(50)], evidence: { ratio: 0.25 } });
    expect(of('PHAN', 'split-not-seen')?.dates).toEqual([day(30)]);
    expect(of('PHAN', 'split-repeated')?.dates).toEqual([day(30), day(35)]);
    expect(of('FACT', 'split-factor-mismatch')?.evidence).toMatchObject({ theirs: 0.25, ours: 0.5 });
    expect(of('ZERO', 'zero-volume')?.dates).toEqual([day(10)]);
    expect(of('DUPR', 'duplicate-rows')?.evidence['examples']).toEqual([{ time: new Date(row('DUPR', 5).time).toISOString(), kept: bv(row('DUPR', 5)), dropped: { ...bv(row('DUPR', 5)), close: row('DUPR', 5).close + 1 } }]);
    expect(of('REVS', 'revised-bars')?.evidence['examples']).toEqual([{ time: new Date(row('REVS', 6).time).toISOString(), old: bv(row('REVS', 6)), new: { ...bv(row('REVS', 6)), close: row('REVS', 6).close - 2 } }]);
    expect(of('XDUP', 'duplicate-across-files')?.dates).toEqual([day(12), day(13)]);
    expect(of('*', 'misdated-file')?.evidence).toMatchObject({ claimedDate: day(8), rows: TICKERS.length, key: dayFile(day(7)).key });
    expect(r.counts).toEqual({
      error: r.findings.filter((f) => f.severity === 'error').length,
      warning: r.findings.filter((f) => f.severity === 'warning').length,
      info: r.findings.filter((f) => f.severity === 'info').length,
    });
    // One finding a ticker for its impossible bars, every day named.
    expect(of('IMP', 'impossible-bar')).toMatchObject({ dates: [day(20), day(21)], evidence: { bars: 2 } });
    const errors = PLANTED.filter((p) => ['impossible-bar', 'duplicate-rows', 'duplicate-across-files', 'misdated-file'].includes(p.kind));
    expect(r.counts.error).toBe(new Set(errors.map((p) => `${p.ticker} ${p.kind}`)).size);
  });

  it('reads named symbols one at a time: the same findings for them (rows under two files aside), none for the others', async () => {
    const named = ['MISS', 'PHAN', 'GAPT', 'REUS', 'DUPR', 'CLEAN', 'SPLT'];
    const r = await checkStore({ symbols: named, cacheDir });
    for (const p of PLANTED.filter((x) => named.includes(x.ticker) || x.ticker === '*')) expect(found(r.findings, p), JSON.stringify(p)).toBe(true);
    expect(r.findings.filter((f) => f.ticker !== '*' && !named.includes(f.ticker))).toEqual([]);
    expect(r.findings.filter((f) => f.ticker === 'CLEAN' || f.ticker === 'SPLT')).toEqual([]);
  });

  it('takes a window: findings outside it are not reported', async () => {
    const r = await checkStore({ all: true, cacheDir, start: day(55), end: day(129) });
    expect(found(r.findings, { ticker: 'MISS', kind: 'split-missing', date: day(50) })).toBe(false);
    expect(found(r.findings, { ticker: 'GAPT', kind: 'missing-days', date: day(60) })).toBe(true);
    expect(r.days).toBe(129 - 55 + 1);
  });

  it('checks stored minutes (an intraday interval) for bars that cannot be and zero volume, with no day checks', async () => {
    const dir = join(root, 'minutes');
    const store: Store = openSqliteStore(dir);
    const job: JobSpec = { job: 'check-minutes', dataset: 'us_stocks_sip/minute_aggs_v1', interval: '1m', tickers: ['MIN'] };
    try {
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      const days = DAYS.slice(0, 3);
      await queue.offer(job, days.map((d) => ({ ...dayFile(d), key: `${job.dataset}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d}.csv.gz` })));
      const items = await queue.claim(3);
      await queue.complete(
        items.map((item) => ({
          job,
          file: item.file,
          // 09:30 and 09:31 New York (EST) of each day; the second day's 09:31 has volume 0, the third's 09:30 a high below its close.
          rows: [0, 1].map((m) => {
            const i = days.indexOf(item.file.day);
            const c = 100 * (1 + i + m);
            return { ticker: 'MIN', time: Date.parse(`${item.file.day}T14:30:00Z`) + m * 60_000, open: c, high: i === 2 && m === 0 ? c - 1 : c + 1, low: c - 1, close: c, volume: i === 1 && m === 1 ? 0 : 10, transactions: 1 };
          }),
        })),
      );
      await queue.close();
    } finally {
      await store.close();
    }
    const r = await checkStore({ all: true, cacheDir: dir, interval: '5m' });
    expect(r.interval).toBe('1m');
    expect(r.findings.map((f) => [f.kind, f.ticker, f.dates])).toEqual([
      ['impossible-bar', 'MIN', [day(2)]],
      ['zero-volume', 'MIN', [day(1)]],
    ]);
  });

  it('refuses bad input: both symbols and all, neither, an unknown symbol, an empty store, a bad date', async () => {
    await expect(checkStore({ all: true, symbols: ['CLEAN'], cacheDir })).rejects.toThrow(InvalidOptionError);
    await expect(checkStore({ cacheDir })).rejects.toThrow(InvalidOptionError);
    await expect(checkStore({ symbols: ['NOPE'], cacheDir })).rejects.toThrow(/NOPE/);
    await expect(checkStore({ all: true, cacheDir: join(root, 'empty') })).rejects.toThrow(ConfigurationError);
    await expect(checkStore({ all: true, cacheDir, start: '2024-02-30' })).rejects.toThrow(/start/);
  });
});

describe('the scan in threads (a SQLite store of many tickers)', () => {
  const SERIES_KINDS: readonly FindingKind[] = ['impossible-bar', 'zero-volume', 'missing-days', 'split-missing', 'split-not-seen', 'ticker-reused', 'duplicate-across-files'];

  it('splits the tickers into a range a thread, only for a SQLite store of many tickers', async () => {
    const store = openSqliteStore(cacheDir);
    try {
      const many = Array.from({ length: 4000 }, (_, i) => `T${String(i).padStart(4, '0')}`);
      expect(scanParts(store, many, 2)).toEqual([
        { from: undefined, to: 'T2000' },
        { from: 'T2000', to: undefined },
      ]);
      expect(scanParts(store, many, 1)).toBeUndefined();
      expect(scanParts(store, TICKERS, 2)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('finds in three ranges read at once what the bars hold: each planted finding of the series, nothing on the clean tickers', async () => {
    const splits = new Map([...ACTIONS].map(([t, a]) => [t, a.splits]));
    const findings: Finding[] = [];
    const events: CheckEvent[] = [];
    const parts = [{ to: 'GAPT' }, { from: 'GAPT', to: 'REUS' }, { from: 'REUS' }];
    const read = await scanInThreads({ store: undefined, cacheDir }, { interval: '1d', start: '0000-01-01', end: '2100-01-01' }, parts, splits, (f) => findings.push(f), undefined, (e) => events.push(e));
    expect(read).toEqual({ tickers: TICKERS.length, bars: DAYS.length * TICKERS.length - 2 - 70 + 1, days: DAYS.length });
    for (const p of PLANTED.filter((x) => SERIES_KINDS.includes(x.kind))) expect(found(findings, p), JSON.stringify(p)).toBe(true);
    for (const f of findings) expect(PLANTED.some((p) => p.ticker === f.ticker && p.kind === f.kind), JSON.stringify(f)).toBe(true);
    // Progress: the days of the slowest range, each once, in order, up to the last.
    const done = events.map((e) => (e.type === 'check-scan' ? e.daysDone : -1));
    expect(done).toEqual([...new Set(done)].sort((a, b) => a - b));
    expect(done.at(-1)).toBe(DAYS.length);
  });

  it('stops when told to', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(scanInThreads({ store: undefined, cacheDir }, { interval: '1d', start: '0000-01-01', end: '2100-01-01' }, [{ to: 'M' }, { from: 'M' }], new Map(), () => {}, controller.signal, undefined)).rejects.toThrow(AbortedError);
  });
});
