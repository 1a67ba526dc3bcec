/**
 * A whole-market SQLite store for the export benchmark, filled straight from the generated day
 * files (the `--all` preload is not what is measured here): each file's rows are parsed by a
 * naive reader and upserted through the store's own BarStore, one transaction per batch of files.
 * Cached beside the dataset with a marker, like the dataset itself.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BarStore, type BarRow } from '../src/cache/bars.js';
import { openDatabase } from '../src/cache/database.js';
import type { GeneratedDataset, GeneratedFile } from '../test/fixtures/generate.js';

const FILES_PER_TRANSACTION = 50;

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
  const markerPath = path.join(cacheDir, 'filled.json');
  if (existsSync(markerPath)) {
    const m = JSON.parse(readFileSync(markerPath, 'utf8')) as FilledStore & { tag: string };
    if (m.tag === tag) return m;
  }
  rmSync(cacheDir, { recursive: true, force: true });
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
  writeFileSync(markerPath, JSON.stringify({ ...filled, tag }));
  return filled;
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
