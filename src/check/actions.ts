// The checks on a ticker's stored split rows themselves (no prices): the same split twice, the
// provider's cumulative factor against ours, an adjustment type its ratio contradicts. The factor
// and type rules are the `actions` command's (read/adjust.ts), reused here.
import type { CorporateActions, Split } from '../corporate-actions.js';
import { contradictsAdjustmentType, historicalFactorMismatches, SAME_RATIO, SPLIT_FACTOR_TOLERANCE } from '../read/adjust.js';
import { dayNumber } from '../market-time.js';
import { finding, round, splitEvidence, type FindingSink } from './series.js';

/** Two split rows of one ticker with the same ratio at most this many calendar days apart (0: the same date) look like one split reported twice. */
export const SPLIT_REPEAT_DAYS = 30;

/** Findings on the split rows of one ticker whose execution date lies in [start, end]. */
export function checkSplitRows(ticker: string, actions: CorporateActions, start: string, end: string, emit: FindingSink): void {
  const inWindow = (s: Split): boolean => s.executionDate >= start && s.executionDate <= end;
  const splits = actions.splits.filter(inWindow);
  for (let i = 0; i < splits.length; i++) {
    const a = splits[i] as Split;
    for (let j = i + 1; j < splits.length; j++) {
      const b = splits[j] as Split;
      const apart = Math.abs(dayNumber(b.executionDate) - dayNumber(a.executionDate));
      const ra = a.splitFrom / a.splitTo;
      if (apart > SPLIT_REPEAT_DAYS || Math.abs(ra - b.splitFrom / b.splitTo) > SAME_RATIO * ra) continue;
      const dates = [...new Set([a.executionDate, b.executionDate])].sort();
      const when = apart === 0 ? `twice on ${a.executionDate}` : `on ${dates.join(' and ')}, ${apart} days apart`;
      emit(finding('split-repeated', ticker, dates, `${ticker}: the same ${round(a.splitTo)}-for-${round(a.splitFrom)} split stored ${when}: one split reported twice?`, { daysApart: apart, splits: [a, b].map(splitEvidence) }));
    }
  }
  // Cumulative to today: every later split counts, whatever the window.
  for (const m of historicalFactorMismatches(actions).filter((m) => inWindow(m.split))) {
    emit(
      finding(
        'split-factor-mismatch',
        ticker,
        [m.split.executionDate],
        `${ticker} ${m.split.executionDate}: the provider's historical_adjustment_factor is ${m.theirs}, the splits stored give ${m.ours}: a split after this date missing or wrong?`,
        { theirs: m.theirs, ours: m.ours, tolerance: SPLIT_FACTOR_TOLERANCE, split: splitEvidence(m.split) },
      ),
    );
  }
  for (const s of splits.filter(contradictsAdjustmentType)) {
    emit(
      finding('split-type-mismatch', ticker, [s.executionDate], `${ticker} ${s.executionDate}: a ${s.adjustmentType} row with split_from ${s.splitFrom} and split_to ${s.splitTo}`, {
        split: splitEvidence(s),
      }),
    );
  }
}
