// check's human summary: findings grouped by kind (errors first, as the report orders them), each
// with its count and first examples; the totals from the report's own counts. Its live line on a
// terminal: a bar of the days read.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CheckLine, checkSummary } from '../../src/cli/check.js';
import type { CheckEvent, CheckReport, Finding } from '../../src/check/types.js';

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

describe('CheckLine', () => {
  const tty = (): Writable & { text: string; isTTY: boolean } => {
    const s = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => void ((s.text += chunk.toString()), done()) }), { text: '', isTTY: true });
    return s;
  };
  const scan = (daysDone: number, daysTotal: number, rows: number): CheckEvent => ({ type: 'check-scan', day: `2026-01-${String(daysDone).padStart(2, '0')}`, rows, daysDone, daysTotal });

  it('draws a bar of the days read, the bars so far, and clears it at the end', () => {
    const s = tty();
    const line = new CheckLine(s, true);
    line.onEvent(scan(1, 4, 100));
    // The time left: the time so far (a few ms here), scaled by the days left.
    expect(s.text.startsWith('\r\x1b[2K')).toBe(true);
    expect(s.text.slice(5)).toMatch(/^check: \[#{5}-{15}\] read 1\/4 days \(2026-01-01\), 100 bars, ~\S+ left$/);
    // Within 100 ms of the last redraw: not drawn, but counted; the last event always is.
    line.onEvent(scan(2, 4, 100));
    line.onEvent(scan(4, 4, 50));
    expect(s.text.split('\r\x1b[2K').at(-1)).toBe('check: [####################] read 4/4 days (2026-01-04), 250 bars');
    line.stop();
    expect(s.text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('draws nothing off a terminal, or when told not to (--json, --quiet)', () => {
    const off = Object.assign(tty(), { isTTY: false });
    new CheckLine(off, true).onEvent(scan(1, 4, 100));
    const quiet = tty();
    new CheckLine(quiet, false).onEvent(scan(1, 4, 100));
    expect(off.text + quiet.text).toBe('');
  });
});
