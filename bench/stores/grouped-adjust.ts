/**
 * `npm run bench -- grouped-adjust`: what serve's adjusted grouped daily (src/serve/api/grouped.ts)
 * spends adjusting one whole-market day on SQLite, the day's bars already read: the path it had (a
 * getActions and adjustBars per ticker, copied here as `perTicker`) against the one it has
 * (adjustDay: one Store.splitsAfter for every ticker), side by side in one run, alternating, on
 * one file. Both answers are compared: the bench fails if they differ.
 *   --tickers N   tickers of the day (default 11000)     --splits N   tickers with splits (default 600)
 *   --runs N      runs of each (default 7)               --out FILE   default bench/results/grouped-adjust.json
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CorporateActions } from '../../src/corporate-actions.js';
import { adjustBars } from '../../src/read/adjusted.js';
import { adjustDay, type Row } from '../../src/serve/api/grouped.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { positiveInt } from '../lib/flags.js';
import { rng, tickers } from './sqlite-bulk-data.js';

const { values: flags } = parseArgs({ options: { tickers: { type: 'string' }, splits: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } } });
const T = positiveInt(flags, 'tickers', 11_000);
const SPLITS = positiveInt(flags, 'splits', 600);
const RUNS = positiveInt(flags, 'runs', 7);
const OUT = flags.out ?? fileURLToPath(new URL('../results/grouped-adjust.json', import.meta.url));
const DATASET = 'us_stocks_sip/day_aggs_v1';
const DAY = '2024-03-12';
const names = tickers(T);

/** The path grouped.ts had: every ticker's actions read on their own, then adjustBars. */
async function perTicker(store: Store, rows: readonly Row[]): Promise<Row[]> {
  const fetched = await store.actionsFetchedAt(rows.map((r) => r.ticker));
  if (fetched.size !== rows.length) throw new Error('missing actions');
  const out: Row[] = [];
  for (const r of rows) {
    const [bar] = await adjustBars(store, r.ticker, r.ticker, DATASET, [r.bar], 'splits');
    out.push({ ticker: r.ticker, bar: bar ?? r.bar });
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const dir = mkdtempSync(path.join(tmpdir(), 'pmd-grouped-adjust-'));
try {
  const store = openSqliteStore(dir);
  const random = rng(11);
  const actions = new Map<string, CorporateActions>();
  const time = Date.parse(`${DAY}T04:00:00Z`);
  const rows: Row[] = names.map((ticker, i) => {
    const splits =
      i % Math.max(1, Math.floor(T / SPLITS)) === 0
        ? [{ ticker, executionDate: '2024-06-10', splitFrom: 1, splitTo: 2 + Math.floor(random() * 8), adjustmentType: 'forward_split', historicalAdjustmentFactor: null, id: `s${i}` }]
        : [];
    // Dividends are stored too (a getActions reads them): a quarterly payer's last 5 years.
    const dividends = Array.from({ length: i % 3 === 0 ? 20 : 0 }, (_, q) => ({
      ticker, exDividendDate: `${2020 + (q >> 2)}-0${1 + 2 * (q & 3)}-15`, cashAmount: 0.25, currency: 'USD', distributionType: 'recurring', frequency: 4,
      payDate: null, recordDate: null, declarationDate: null, splitAdjustedCashAmount: null, historicalAdjustmentFactor: null, id: `d${i}-${q}`,
    }));
    actions.set(ticker, { splits, dividends });
    const close = 10 + random() * 100;
    return { ticker, bar: { time, open: close, high: close * 1.01, low: close * 0.99, close, volume: 1000 + i, transactions: 10 } };
  });
  await store.replaceActions(actions, new Date().toISOString());

  const before: number[] = [];
  const after: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let t = performance.now();
    const a = await perTicker(store, rows);
    before.push(performance.now() - t);
    t = performance.now();
    const b = await adjustDay(store, DAY, rows);
    after.push(performance.now() - t);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the two paths answer differently');
  }
  await store.close();
  const result = {
    tickers: T,
    tickersWithSplits: [...actions.values()].filter((a) => a.splits.length > 0).length,
    runs: RUNS,
    perTickerMs: before.map((x) => Math.round(x)),
    splitsAfterMs: after.map((x) => Math.round(x * 10) / 10),
    medianPerTickerMs: Math.round(median(before)),
    medianSplitsAfterMs: Math.round(median(after) * 10) / 10,
    ratio: Math.round((median(before) / median(after)) * 10) / 10,
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
