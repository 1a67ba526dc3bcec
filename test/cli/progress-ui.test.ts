import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { PlanEvent, ProgressEvent } from '../../src/events.js';
import { formatCount, ProgressUi, type UiStream } from '../../src/cli/progress-ui.js';
import { RunStats } from '../../src/run/stats.js';

/** A terminal of 200 columns that keeps what is drawn on it (escape codes stripped). */
function terminal(): { stream: UiStream; text: () => string } {
  let out = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString('utf8');
        done();
      },
    }),
    { isTTY: true, columns: 200 },
  );
  return { stream, text: () => stripVTControlCharacters(out) };
}

/** A progress event as a run emits it: a fresh run's counters, the listing done, and `p`. */
const progress = (p: Partial<ProgressEvent>): ProgressEvent => ({ type: 'progress', ...new RunStats().counts, listingDone: true, ...p });

describe('ProgressUi', () => {
  it("draws this process's files on its own", () => {
    const t = terminal();
    const ui = new ProgressUi({ stderr: t.stream }, () => undefined, false);
    ui.onEvent(progress({ listed: 100, downloaded: 30, skipped: 10 }));
    ui.stop();
    expect(t.text()).toContain('files 40/100 (40%)');
  });

  it("on a shared store, draws the whole job's files, every process's", () => {
    const t = terminal();
    const ui = new ProgressUi({ stderr: t.stream }, () => undefined, false);
    // This process listed all 1,000 and did 50; the job (three processes) has 600 done, 2 failed.
    ui.onEvent(progress({ listed: 1000, downloaded: 50, job: { files: 1000, done: 600, claimed: 60, failed: 2, pending: 338 } }));
    ui.stop();
    expect(t.text()).toContain('files 602/1000 (60%)');
    expect(t.text()).toContain('failed: 2');
  });

  it('shows rows a second beside files and MB/s (what an --all run is measured in), and says an --all plan in words', async () => {
    const t = terminal();
    const plan = { type: 'plan', jobs: [{ symbols: [{ symbol: '*', ticker: '*us_stocks_sip/day_aggs_v1', assetClass: 'stock' }], dataset: 'us_stocks_sip/day_aggs_v1', start: '2021-11-21', end: '2026-11-20', period: '5y', defaultPeriod: true }] } satisfies PlanEvent;
    // Not a terminal: the lines go to the log as they are said.
    const said: string[] = [];
    new ProgressUi({ stderr: Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: false }) }, (s) => said.push(s), false).onEvent(plan);
    expect(said).toEqual(['Every ticker of us_stocks_sip/day_aggs_v1, 2021-11-21 to 2026-11-20']);
    const ui = new ProgressUi({ stderr: t.stream }, () => undefined, false);
    ui.onEvent(progress({ listed: 100, downloaded: 1, bars: 10 }));
    await new Promise((r) => setTimeout(r, 30));
    ui.onEvent(progress({ listed: 100, downloaded: 50, bars: 550_000 }));
    ui.stop();
    expect(t.text()).toMatch(/\| [\d.]+[kM]? rows\/s \|/);
  });

  it.each([
    [999, '999'],
    [45_678, '45.7k'],
    [1_234_567, '1.2M'],
  ])('formats %d rows a second as %s', (n, shown) => expect(formatCount(n)).toBe(shown));
});
