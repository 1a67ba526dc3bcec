// The real data's defects (issue 27, docs/data-quality.md), planted in the demo's generated day
// files so that `check` has something to find: a day file whose rows all claim the next day (as
// the provider's 2019-08-12 file does; repaired on ingest, so every ticker's reads stay as they
// were), and on tickers of their own (six letters: no generated ticker has more than five) rows of
// one ticker and time with different values, a zero-volume bar, an impossible bar (high below
// low), and a file republished with a changed bar. The objects are rewritten in place in the
// served directory, from what they hold: planting twice gives the same bytes, so a second demo run
// downloads nothing again, except the republished file.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CSV_HEADER, STOCKS_DATASET, type GeneratedDataset } from '../test/fixtures/generate.js';

/** The demo's own tickers, each with one defect. */
export const DEFECT_TICKERS = { impossible: 'ZZBADB', duplicate: 'ZZDUPS', revised: 'ZZREVD', zeroVolume: 'ZZZERO' } as const;
const OWN = new Set<string>(Object.values(DEFECT_TICKERS));
/** The last stock day files the demo's tickers trade in. */
const DAYS = 10;

export interface Planted {
  /** The window of the demo's tickers (the last DAYS stock day files). */
  start: string;
  end: string;
  /** The day file whose rows claim the next day, and that day. */
  misdated: { day: string; claims: string };
  /** The day file republished with ZZREVD's bar changed. */
  republished: string;
}

/** Midnight New York of `day` in ms: the stamp of a day bar (New York is 7 or 8 hours behind UTC at noon UTC). */
function newYorkMidnight(day: string): number {
  const noon = Date.parse(`${day}T12:00:00Z`);
  const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', hourCycle: 'h23' }).format(noon));
  return Date.parse(`${day}T00:00:00Z`) + (12 - hour) * 3_600_000;
}

/** A row of the file's columns: a flat price near `price`, so that no move looks like a split. */
function row(ticker: string, stamp: number, price: number, o: { volume?: number; trades?: number; high?: number } = {}): string {
  const volume = o.volume ?? 12_000 + Math.round(price * 10);
  const trades = o.trades ?? 150;
  const fields: Record<string, string | number> = {
    ticker,
    volume,
    open: price,
    close: +(price + 0.2).toFixed(2),
    high: o.high ?? +(price + 0.5).toFixed(2),
    low: +(price - 0.3).toFixed(2),
    window_start: `${stamp}000000`,
    transactions: trades,
  };
  return CSV_HEADER.split(',')
    .map((c) => fields[c])
    .join(',');
}

/**
 * Plants the defects in the last DAYS stock day files of `ds`; `republished`: the last file holds
 * ZZREVD's changed bar (the provider replaced it), else its first version.
 */
export function plantDefects(ds: GeneratedDataset, opts: { republished: boolean }): Planted {
  for (const t of OWN) if (ds.tickers[STOCKS_DATASET]?.includes(t)) throw new Error(`The generated files already have a ticker ${t}`);
  const files = ds.files.filter((f) => f.dataset === STOCKS_DATASET).slice(-DAYS);
  const days = files.map((f) => f.day);
  const misdated = days.length - 5;
  files.forEach((f, i) => {
    const stamp = newYorkMidnight(f.day);
    const price = 40 + (i % 3) * 0.25;
    const own = [
      row(DEFECT_TICKERS.impossible, stamp, price, i === 3 ? { high: price - 1 } : {}),
      // The provider's users have seen a duplicate with volume 0 and 0 trades beside the real row; the last row is kept.
      ...(i === 2 ? [row(DEFECT_TICKERS.duplicate, stamp, price, { volume: 0, trades: 0 })] : []),
      row(DEFECT_TICKERS.duplicate, stamp, price),
      row(DEFECT_TICKERS.revised, stamp, opts.republished && i === days.length - 1 ? price + 2.5 : price),
      row(DEFECT_TICKERS.zeroVolume, stamp, price, i === 6 ? { volume: 0, trades: 0 } : {}),
    ];
    // Every row of the misdated file claims the next file's day, as the provider's 2019-08-12 file does.
    const claims = i === misdated ? `${newYorkMidnight(days[i + 1] ?? f.day)}000000` : undefined;
    rewrite(ds, f.key, own, claims);
  });
  return {
    start: days[0] ?? '',
    end: days.at(-1) ?? '',
    misdated: { day: days[misdated] ?? '', claims: days[misdated + 1] ?? '' },
    republished: days.at(-1) ?? '',
  };
}

/** The object's rows without the demo's own, with `own` in ticker order, and every window_start `claims` if given. */
function rewrite(ds: GeneratedDataset, key: string, own: readonly string[], claims: string | undefined): void {
  const path = join(ds.dir, ds.bucket, ...key.split('/')) + '._S3rver_object';
  const [header = CSV_HEADER, ...lines] = gunzipSync(readFileSync(path)).toString('latin1').split('\n').filter((l) => l !== '');
  const ticker = (l: string): string => l.slice(0, l.indexOf(','));
  // Stable: each ticker's rows keep their order (a duplicate's kept row stays last).
  let rows = [...lines.filter((l) => !OWN.has(ticker(l))), ...own].sort((a, b) => (ticker(a) < ticker(b) ? -1 : ticker(a) > ticker(b) ? 1 : 0));
  if (claims !== undefined) {
    const at = header.split(',').indexOf('window_start');
    rows = rows.map((l) => l.split(',').map((v, c) => (c === at ? claims : v)).join(','));
  }
  const body = gzipSync(`${[header, ...rows].join('\n')}\n`, { level: 6 });
  writeFileSync(path, body);
  writeFileSync(`${path}.md5`, createHash('md5').update(body).digest('hex'));
}
