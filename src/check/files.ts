// What runs recorded in files (Store.fileFindings) as findings: a misdated day file (the one
// repair: its rows were stored under the file's day), rows of one ticker and time with different
// values inside a file, a republished file whose bars changed.
import type { BarConflict, FileFinding } from '../store/types.js';
import { EVERY_TICKER, type Finding } from './types.js';
import { finding, iso } from './series.js';

/** The findings of one recorded file note; `wanted` keeps only some tickers (named symbols). */
export function fileNoteFindings(f: FileFinding, wanted: ((ticker: string) => boolean) | undefined): Finding[] {
  const file = { dataset: f.dataset, key: f.key, day: f.day, job: f.job, seenAt: f.seenAt };
  if (f.kind === 'misdated') {
    const claimed = f.detail.claimedDate ?? '?';
    return [
      finding('misdated-file', EVERY_TICKER, [f.day], `day file ${f.key}: ${f.detail.rows} rows claimed ${claimed}; stored under ${f.day}, the file's day`, {
        ...file,
        rows: f.detail.rows,
        claimedDate: claimed,
      }),
    ];
  }
  if (f.kind !== 'duplicate' && f.kind !== 'revised') return [];
  const kind = f.kind === 'duplicate' ? 'duplicate-rows' : 'revised-bars';
  const counts = { rows: f.detail.rows, ...(f.detail.added === undefined ? {} : { added: f.detail.added }), ...(f.detail.removed === undefined ? {} : { removed: f.detail.removed }) };
  const byTicker = new Map<string, BarConflict[]>();
  for (const c of f.detail.examples ?? []) byTicker.set(c.ticker, [...(byTicker.get(c.ticker) ?? []), c]);
  // Without examples the note is about the file: every ticker in it.
  if (byTicker.size === 0) byTicker.set(EVERY_TICKER, []);
  const out: Finding[] = [];
  for (const [ticker, conflicts] of byTicker) {
    if (ticker !== EVERY_TICKER && wanted !== undefined && !wanted(ticker)) continue;
    const examples = conflicts.map((c) => (kind === 'duplicate-rows' ? { time: iso(c.time), kept: c.before, dropped: c.after } : { time: iso(c.time), old: c.before, new: c.after }));
    const message =
      kind === 'duplicate-rows'
        ? `day file ${f.key}: ${ticker === EVERY_TICKER ? '' : `${ticker} `}rows of one ticker and time with different values (${f.detail.rows} dropped in the file); one was kept`
        : `day file ${f.key} was republished and its bars changed (${f.detail.rows} rows in the file)${ticker === EVERY_TICKER ? '' : `, ${ticker} among them`}`;
    out.push(finding(kind, ticker, [f.day], message, { ...file, ...counts, examples }));
  }
  return out;
}
