/**
 * A whole-market SQLite store for the export benchmark, filled straight from the generated day
 * files (the `--all` preload is not what is measured here): each file's rows are parsed by a
 * naive reader and upserted through the store's own BarStore, one transaction per batch of files.
 * Cached beside the dataset with a marker, like the dataset itself.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BarStore, type BarRow } from '../../src/store/sqlite/bars.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import type { GeneratedDataset, GeneratedFile } from '../../test/fixtures/generate.js';

const FILES_PER_TRANSACTION = 50;
const MARKER = 'filled.json';

/** What the filled store holds. */
export interface FilledStore {
  cacheDir: string;
  rows: number;
  tickers: number;
  /** Bytes of the gzipped day files it was filled from. */
  sourceBytes: number;
  files: number;
}

/**
 * Fills `cacheDir` with every row of `files` (day files of `ds`), keeping only tickers for which
 * `keep` is true (a fraction of the market). Returns at once when a marker says it is done.
 */
export function fillExportStore(ds: GeneratedDataset, files: readonly GeneratedFile[], cacheDir: string, keep: (ticker: string) => boolean, tag: string): FilledStore {
  const cached = filledBefore(cacheDir, tag);
  if (cached) return cached;
  const db = openDatabase(cacheDir);
  const bars = new BarStore(db);
  const tickers = new Set<string>();
  let rows = 0;
  let sourceBytes = 0;
  try {
    db.pragma('cache_size = -1000000');
    const insert = db.transaction((batch: readonly GeneratedFile[]) => {
      for (const f of batch) {
        const parsed = parseDayFile(ds, f).filter((r) => keep(r.symbol));
        for (const r of parsed) tickers.add(r.symbol);
        bars.upsert('1d', parsed);
        rows += parsed.length;
      }
    });
    for (let i = 0; i < files.length; i += FILES_PER_TRANSACTION) insert(files.slice(i, i + FILES_PER_TRANSACTION));
    for (const f of files) sourceBytes += f.size;
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const filled: FilledStore = { cacheDir, rows, tickers: tickers.size, sourceBytes, files: files.length };
  writeFileSync(path.join(cacheDir, MARKER), JSON.stringify({ ...filled, tag }));
  return filled;
}

/** The store filled by an earlier run with the same `tag`; otherwise the directory is emptied for a new fill. */
function filledBefore(cacheDir: string, tag: string): FilledStore | undefined {
  const markerPath = path.join(cacheDir, MARKER);
  if (existsSync(markerPath)) {
    const m = JSON.parse(readFileSync(markerPath, 'utf8')) as FilledStore & { tag: string };
    if (m.tag === tag) return m;
  }
  rmSync(cacheDir, { recursive: true, force: true });
  return undefined;
}

/** Every row of a generated day file, read by header name. */
function parseDayFile(ds: GeneratedDataset, f: GeneratedFile): BarRow[] {
  const objectPath = path.join(ds.dir, ds.bucket, ...f.key.split('/')) + '._S3rver_object';
  const lines = gunzipSync(readFileSync(objectPath)).toString('latin1').split('\n');
  const header = (lines[0] ?? '').split(',');
  const at = (name: string): number => header.indexOf(name);
  const [iT, iO, iH, iL, iC, iV, iS, iN] = ['ticker', 'open', 'high', 'low', 'close', 'volume', 'window_start', 'transactions'].map<number>(at);
  const out: BarRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const c = line.split(',');
    const n = (j: number | undefined): number => Number(c[j ?? -1]);
    const tx = c[iN ?? -1] ?? '';
    out.push({
      symbol: c[iT ?? -1] ?? '',
      day: f.day,
      // Nanoseconds, always whole milliseconds here: drop the last six digits rather than lose precision.
      time: Number((c[iS ?? -1] ?? '').slice(0, -6)),
      open: n(iO),
      high: n(iH),
      low: n(iL),
      close: n(iC),
      volume: n(iV),
      transactions: tx === '' ? null : Number(tx),
    });
  }
  return out;
}

/**
 * One symbol's minute bars for a year of weekdays (04:00-20:00 New York, 960 a day, ~250,000 in
 * all), made up by a seeded walk and upserted through BarStore: what `export --interval 1m` of a
 * year reads. Cached by a marker like the day store.
 */
export function fillMinuteStore(cacheDir: string, ticker: string, year: number): FilledStore {
  const tag = `minute-${ticker}-${year}-v1`;
  const cached = filledBefore(cacheDir, tag);
  if (cached) return cached;
  const db = openDatabase(cacheDir);
  const bars = new BarStore(db);
  let rows = 0;
  let price = 200;
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) - 0.5;
  try {
    const insertDay = db.transaction((day: string, open: number) => {
      const out: BarRow[] = [];
      for (let m = 0; m < 960; m++) {
        const o = price;
        price = Math.max(1, price * (1 + rand() * 0.002));
        out.push({ symbol: ticker, day, time: open + m * 60_000, open: o, high: Math.max(o, price) + 0.01, low: Math.min(o, price) - 0.01, close: price, volume: 1000 + Math.round(rand() * 500), transactions: 10 });
      }
      bars.upsert('1m', out);
      rows += out.length;
    });
    for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
      const wd = new Date(t).getUTCDay();
      if (wd === 0 || wd === 6) continue;
      // 04:00 New York is 08:00 or 09:00 UTC; EDT roughly from mid-March to early November.
      const month = new Date(t).getUTCMonth();
      insertDay(new Date(t).toISOString().slice(0, 10), t + (month > 2 && month < 10 ? 8 : 9) * 3_600_000);
    }
  } finally {
    db.close();
  }
  const filled: FilledStore = { cacheDir, rows, tickers: 1, sourceBytes: 0, files: 0 };
  writeFileSync(path.join(cacheDir, MARKER), JSON.stringify({ ...filled, tag }));
  return filled;
}
