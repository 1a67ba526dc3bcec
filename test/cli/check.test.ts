// check's human summary: findings grouped by kind (errors first, as the report orders them), each
// with its count and first examples; the totals from the report's own counts.
import { describe, expect, it } from 'vitest';
import { checkSummary } from '../../src/cli/check.js';
import type { CheckReport, Finding } from '../../src/check/types.js';

const f = (kind: Finding['kind'], severity: Finding['severity'], ticker: string, dates: string[]): Finding => ({ kind, severity, ticker, dates, message: `${ticker} ${kind}`, evidence: { n: dates.length } });

const report = (findings: Finding[]): CheckReport => ({
  store: '/cache/market-data.sqlite',
  interval: '1d',
  start: undefined,
  end: '2026-11-20',
  tickers: 3,
  bars: 300,
  days: 100,
  findings,
  counts: { error: findings.filter((x) => x.severity === 'error').length, warning: findings.filter((x) => x.severity === 'warning').length, info: findings.filter((x) => x.severity === 'info').length },
  kinds: {},
  elapsedMs: 1200,
});

describe('checkSummary', () => {
  it('groups by kind with counts, the first three examples and how many more', () => {
    const many = ['A', 'B', 'C', 'D', 'E'].map((t) => f('missing-days', 'info', t, ['2026-01-02', '2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08']));
    const text = checkSummary(report([f('impossible-bar', 'error', 'X', ['2026-03-02']), f('split-missing', 'warning', 'Y', ['2026-04-01', '2026-04-02']), ...many]));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Checked 3 tickers, 300 1d bars on 100 days (first stored day..2026-11-20) in /cache/market-data.sqlite, 1.2s');
    expect(lines[1]).toBe('  1 error, 1 warning, 5 info');
    expect(lines).toContain('error impossible-bar: 1');
    expect(lines).toContain('warning split-missing: 1');
    expect(lines).toContain('info missing-days: 5');
    expect(lines).toContain('  A 2026-01-02, 2026-01-05, 2026-01-06, 2026-01-07 and 1 more: A missing-days');
    expect(lines).toContain('  ... and 2 more (--json lists them all)');
    expect(lines.filter((l) => l.startsWith('    evidence: '))).toHaveLength(5);
    expect(lines.indexOf('error impossible-bar: 1')).toBeLessThan(lines.indexOf('warning split-missing: 1'));
  });

  it('says so when nothing is found', () => {
    expect(checkSummary(report([])).split('\n').at(-1)).toBe('  nothing found');
  });
});
