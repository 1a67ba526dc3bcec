// The metrics file's merge (other series kept, this command's replaced, the last success kept on
// a failure), its atomic write, and the text judged by a parser we did not write.
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readMetricsText } from '../../src/cli/metrics-file.js';
import { EventTotals, METRIC, mergedText, writeSeries, type SeriesEnd, type Totals } from '../../src/cli/metrics-series.js';
import { parseStrictly, valueOf } from '../fixtures/prometheus.js';

const STOCKS = 'us_stocks_sip/day_aggs_v1';
const CRYPTO = 'global_crypto/day_aggs_v1';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'pmd-metrics-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const totals = (n: number): Totals => ({ files: { listed: n, downloaded: n - 1, skipped: 1, failed: 0 }, bytes: n * 1000, rows: n * 10, retries: 2, throttled: 1 });
const end = (command: string, endSeconds: number, exitCode: number): SeriesEnd => ({ command, start: endSeconds - 5, end: endSeconds, exitCode });

describe('the metrics file', () => {
  it('keeps the series of other datasets, replaces its own, and keeps the last success when a run fails', async () => {
    const first = await mergedText('', end('run', 1000, 0), new Map([[STOCKS, totals(10)]]));
    const second = await mergedText(first, end('run', 2000, 0), new Map([[CRYPTO, totals(4)]]));
    let families = parseStrictly(second);
    expect(valueOf(families, METRIC.lastSuccessTime, { command: 'run', dataset: STOCKS })).toBe(1000);
    expect(valueOf(families, METRIC.lastSuccessTime, { command: 'run', dataset: CRYPTO })).toBe(2000);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: STOCKS, state: 'listed' })).toBe(10);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: CRYPTO, state: 'listed' })).toBe(4);

    // The stocks run fails: its series are replaced, its last success is the earlier one.
    const failed = await mergedText(second, end('run', 3000, 1), new Map([[STOCKS, { ...totals(7), files: { listed: 7, downloaded: 5, skipped: 0, failed: 2 } }]]));
    families = parseStrictly(failed);
    expect(valueOf(families, METRIC.exitCode, { command: 'run', dataset: STOCKS })).toBe(1);
    expect(valueOf(families, METRIC.endTime, { command: 'run', dataset: STOCKS })).toBe(3000);
    expect(valueOf(families, METRIC.duration, { command: 'run', dataset: STOCKS })).toBe(5);
    expect(valueOf(families, METRIC.lastSuccessTime, { command: 'run', dataset: STOCKS })).toBe(1000);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: STOCKS, state: 'failed' })).toBe(2);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: STOCKS, state: 'listed' })).toBe(7);
    // Crypto's series untouched, and exactly one of each per dataset.
    expect(valueOf(families, METRIC.endTime, { command: 'run', dataset: CRYPTO })).toBe(2000);
    expect(valueOf(families, METRIC.bytes, { command: 'run', dataset: CRYPTO })).toBe(4000);
    expect(families.find((f) => f.name === METRIC.endTime)?.metrics).toHaveLength(2);
  });

  it('keeps the same dataset of another command apart, and a success clears the command\'s failures from before it knew its dataset', async () => {
    let text = await mergedText('', end('sync', 1000, 75), new Map([['', undefined]]));
    text = await mergedText(text, end('run', 1500, 0), new Map([[STOCKS, totals(3)]]));
    let families = parseStrictly(text);
    expect(valueOf(families, METRIC.exitCode, { command: 'sync', dataset: '' })).toBe(75);
    // A failure with no success before it has no last success to show.
    expect(valueOf(families, METRIC.lastSuccessTime, { command: 'sync', dataset: '' })).toBeUndefined();
    text = await mergedText(text, end('sync', 2000, 0), new Map([[STOCKS, totals(5)]]));
    families = parseStrictly(text);
    expect(valueOf(families, METRIC.exitCode, { command: 'sync', dataset: '' })).toBeUndefined();
    expect(valueOf(families, METRIC.files, { command: 'sync', dataset: STOCKS, state: 'listed' })).toBe(5);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: STOCKS, state: 'listed' })).toBe(3);
  });

  it('names counters _total and times _seconds, with the types it declares', async () => {
    const text = await mergedText('', end('export', 1000, 0), new Map([['', { files: { written: 2 }, bytes: 5000, rows: 100 }]]));
    const families = parseStrictly(text);
    for (const f of families) {
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
      if (/_time_|duration/.test(f.name)) expect(f.name).toMatch(/_seconds$/);
      expect(f.name.startsWith('preload_market_data_')).toBe(true);
      expect(f.help.length).toBeGreaterThan(10);
    }
    expect(families.find((f) => f.name === METRIC.files)?.type).toBe('COUNTER');
    expect(families.find((f) => f.name === METRIC.lastSuccessTime)?.type).toBe('GAUGE');
    expect(valueOf(families, METRIC.files, { command: 'export', dataset: '', state: 'written' })).toBe(2);
    // An export makes no requests to retry: no retries series rather than a made-up 0.
    expect(valueOf(families, METRIC.retries, { command: 'export', dataset: '' })).toBeUndefined();
  });

  it('reads back escaped label values, and keeps a family it does not know as it was', async () => {
    const odd = 'a "quoted"\\back\nslash';
    const foreign = '# HELP other_thing_total Something else.\n# TYPE other_thing_total counter\nother_thing_total{k="v"} 3\n';
    const text = await mergedText(foreign, end('run', 1000, 0), new Map([[odd, totals(2)]]));
    const again = await mergedText(text, end('run', 2000, 0), new Map([[STOCKS, totals(2)]]));
    const families = parseStrictly(again);
    expect(valueOf(families, METRIC.endTime, { command: 'run', dataset: odd })).toBe(1000);
    expect(valueOf(families, 'other_thing_total', { k: 'v' })).toBe(3);
    expect(readMetricsText(again).find((f) => f.name === METRIC.endTime)?.samples.map((s) => s.labels['dataset'])).toEqual([odd, STOCKS]);
  });

  it('is written whole, leaves no temporary file, and two writers that end at once both land', async () => {
    const dir = tempDir();
    const path = join(dir, 'preload.prom');
    writeFileSync(path, await mergedText('', end('run', 1000, 0), new Map([[STOCKS, totals(1)]])));
    // Both read the file before either renames: the later rename would drop the other's series
    // unless each looks again after its rename.
    await Promise.all([
      writeSeries(path, end('run', 2000, 0), new Map([[CRYPTO, totals(2)]])),
      writeSeries(path, end('sync', 2000, 0), new Map([[STOCKS, totals(3)]])),
    ]);
    expect(readdirSync(dir)).toEqual(['preload.prom']);
    const families = parseStrictly(readFileSync(path, 'utf8'));
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: STOCKS, state: 'listed' })).toBe(1);
    expect(valueOf(families, METRIC.files, { command: 'run', dataset: CRYPTO, state: 'listed' })).toBe(2);
    expect(valueOf(families, METRIC.files, { command: 'sync', dataset: STOCKS, state: 'listed' })).toBe(3);
  });
});

describe('counting from events (a command that threw has no report)', () => {
  it('adds what each cumulative snapshot changed, per dataset, a sync part starting again from 0', () => {
    const seen: Array<[string, number]> = [];
    const t = new EventTotals((dataset, delta) => seen.push([dataset, delta.files.downloaded ?? 0]));
    const counts = { listingDone: true, skipped: 0, failed: 0, retries: 0, throttled: 0, republished: 0, inFlightLimit: 4, inFlight: 2 };
    const plan = (dataset: string) => ({ type: 'plan' as const, jobs: [{ symbols: [], dataset, start: undefined, end: '2026-11-20', period: '1y', defaultPeriod: false }] });
    t.event(plan(STOCKS));
    t.event({ type: 'progress', ...counts, listed: 10, downloaded: 2, bytes: 200, bars: 2 });
    t.event({ type: 'progress', ...counts, listed: 10, downloaded: 5, bytes: 500, bars: 5, retries: 3, throttled: 1 });
    t.event(plan(CRYPTO));
    t.event({ type: 'progress', ...counts, listed: 4, downloaded: 1, bytes: 100, bars: 1, failed: 1 });
    expect(t.byDataset.get(STOCKS)).toEqual({ files: { listed: 10, downloaded: 5, skipped: 0, failed: 0 }, bytes: 500, rows: 5, retries: 3, throttled: 1 });
    expect(t.byDataset.get(CRYPTO)).toEqual({ files: { listed: 4, downloaded: 1, skipped: 0, failed: 1 }, bytes: 100, rows: 1, retries: 0, throttled: 0 });
    expect(seen.filter(([, n]) => n > 0)).toEqual([
      [STOCKS, 2],
      [STOCKS, 3],
      [CRYPTO, 1],
    ]);
  });
});

const sink = (): Writable & { text: string } => {
  const s = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => void ((s.text += chunk.toString()), done()) }), { text: '' });
  return s;
};

describe('the metrics flags', () => {
  const run = async (args: string[]): Promise<{ code: number; stderr: string }> => {
    const stderr = sink();
    const code = await main(['status', '--cache-dir', tempDir(), ...args], { stdout: sink(), stderr, env: {} });
    return { code, stderr: stderr.text };
  };

  it.each([
    [['--metrics-port', '0'], /^preload-market-data status: --metrics-port must be a port number from 1 to 65535, got 0\n$/],
    [['--metrics-port', '80x'], /--metrics-port must be a port number from 1 to 65535, got 80x\n$/],
    [['--metrics-port', '65536'], /got 65536\n$/],
    [['--metrics-host', '0.0.0.0'], /--metrics-host 0.0.0.0 needs --metrics-port N/],
    [['--metrics-file', join(tmpdir(), 'no-such-dir-pmd', 'x.prom')], /--metrics-file .*no-such-dir-pmd.*x\.prom: the directory .* does not exist\n$/],
    [['--metrics-file', tmpdir()], /is a directory, not a file\n$/],
    [['--metrics-port', '9', '--metrics-host', 'no-such-host.invalid'], /--metrics-host no-such-host.invalid: cannot listen there/],
  ])('%j: one line naming the flag and the value, exit 2', async (args, line) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a port in use: one clear line, exit 2', async () => {
    const busy: Server = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const { port } = busy.address() as AddressInfo;
    try {
      const r = await run(['--metrics-port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`preload-market-data status: --metrics-port ${port}: 127.0.0.1:${port} is already in use (another process listens there)\n`);
    } finally {
      busy.close();
    }
  });

  it('a command with no dataset writes its end under dataset ""', async () => {
    const dir = tempDir();
    const path = join(dir, 'm.prom');
    const r = await run(['--metrics-file', path]);
    expect(r.code, r.stderr).toBe(0);
    const families = parseStrictly(readFileSync(path, 'utf8'));
    expect(valueOf(families, METRIC.exitCode, { command: 'status', dataset: '' })).toBe(0);
  });
});
