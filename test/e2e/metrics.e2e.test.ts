// Issue 28: --metrics-file and --metrics-port, with real CLI processes against the test S3 server.
// The values are judged against each command's --json report and the faults the server sent; the
// text by a parser we did not write.
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayFilesFor } from '../fixtures/generate.js';
import { parseStrictly, valueOf, type ParsedFamily } from '../fixtures/prometheus.js';
import { CRYPTO, END, escapeRegExp, json, runCli, spawnCli, STOCKS, startWorld, type World } from './helpers.js';

const M = 'preload_market_data_';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

interface Counts {
  files: { listed: number; downloaded: number; skipped: number; failed: number };
  bytes: number;
  bars: number;
  retries: number;
  throttled: number;
}

/** Every counter of a (command, dataset) series equals the report's. */
function expectCounters(families: ParsedFamily[], command: string, dataset: string, r: Counts): void {
  const labels = { command, dataset };
  for (const state of ['listed', 'downloaded', 'skipped', 'failed'] as const) {
    expect(valueOf(families, `${M}files_total`, { ...labels, state }), `${command} ${dataset} ${state}`).toBe(r.files[state]);
  }
  expect(valueOf(families, `${M}bytes_total`, labels)).toBe(r.bytes);
  expect(valueOf(families, `${M}rows_total`, labels)).toBe(r.bars);
  expect(valueOf(families, `${M}retries_total`, labels)).toBe(r.retries);
  expect(valueOf(families, `${M}throttled_requests_total`, labels)).toBe(r.throttled);
}

const secrets = (): string[] => [w.env['MASSIVE_SECRET_ACCESS_KEY'] ?? 'missing', 'Pw-s3cret-42'];

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((done) => s.close(done));
  return port;
}

describe('--metrics-file', () => {
  it('holds the series of two datasets, a sync and an export, each equal to its --json report; a failed run keeps the earlier last success', async () => {
    const dir = join(w.root, 'textfile');
    mkdirSync(dir, { recursive: true });
    const prom = join(dir, 'preload.prom');
    const cache = w.cacheDir('metrics-two');
    const window = ['--start', '2026-10-01', '--end', END, '--cache-dir', cache, '--retry-delay-ms', '10', '--metrics-file', prom, '--json'];

    // Throttled three times, and one short body: retries and throttled answers to count.
    const cryptoFiles = dayFilesFor(w.ds, CRYPTO, '2026-10-01', END);
    await w.server.setFaults([
      { match: '^us_stocks_sip/', times: 3, kind: 'status', status: 503, code: 'SlowDown' },
      { match: escapeRegExp(cryptoFiles[2]?.key ?? ''), times: 1, kind: 'short-body' },
    ]);
    const before = Date.now() / 1000;
    const stocks = await runCli(['TSLA', ...window], w.env);
    const crypto = await runCli(['BTC-USD', ...window], w.env);
    const after = Date.now() / 1000;
    await w.server.setFaults([]);
    expect(stocks.code, stocks.stderr).toBe(0);
    expect(crypto.code, crypto.stderr).toBe(0);
    const s = json(stocks) as ReturnType<typeof json> & Counts;
    const c = json(crypto) as ReturnType<typeof json> & Counts;
    expect([s.dataset, c.dataset]).toEqual([STOCKS, CRYPTO]);
    // The faults were served: the counters below are not zeros that match by chance.
    expect(s.throttled).toBe(3);
    expect(c.retries).toBe(1);
    expect(s.files.downloaded).toBe(dayFilesFor(w.ds, STOCKS, '2026-10-01', END).length);

    const text = readFileSync(prom, 'utf8');
    let families = parseStrictly(text);
    expectCounters(families, 'run', STOCKS, s);
    expectCounters(families, 'run', CRYPTO, c);
    for (const dataset of [STOCKS, CRYPTO]) {
      const labels = { command: 'run', dataset };
      const start = valueOf(families, `${M}start_time_seconds`, labels) ?? 0;
      const end = valueOf(families, `${M}end_time_seconds`, labels) ?? 0;
      expect(start).toBeGreaterThanOrEqual(before);
      expect(end).toBeLessThanOrEqual(after);
      expect(start).toBeLessThan(end);
      expect(valueOf(families, `${M}duration_seconds`, labels)).toBeCloseTo(end - start, 2);
      expect(valueOf(families, `${M}exit_code`, labels)).toBe(0);
      expect(valueOf(families, `${M}last_success_time_seconds`, labels)).toBe(end);
    }
    // The stocks run's own wall time covers its report's.
    expect(valueOf(families, `${M}duration_seconds`, { command: 'run', dataset: STOCKS })).toBeGreaterThanOrEqual(s.elapsedMs / 1000);
    expect(readdirSync(dir)).toEqual(['preload.prom']);

    // A sync of that cache: one series per dataset it synced, beside the runs'.
    const sync = await runCli(['sync', '--cache-dir', cache, '--metrics-file', prom, '--json'], w.env);
    expect(sync.code, sync.stderr).toBe(0);
    const parts = (JSON.parse(sync.stdout) as { parts: Array<Counts & { dataset: string }> }).parts;
    expect(parts.map((p) => p.dataset).sort()).toEqual([CRYPTO, STOCKS]);
    families = parseStrictly(readFileSync(prom, 'utf8'));
    for (const p of parts) expectCounters(families, 'sync', p.dataset, p);
    expectCounters(families, 'run', STOCKS, s);
    expectCounters(families, 'run', CRYPTO, c);
    // An export of what the runs stored: the files it wrote, their rows and bytes.
    const exported = await runCli(['export', 'TSLA', 'BTC-USD', '--out', join(w.root, 'metrics-lake'), '--adjust', 'none', '--cache-dir', cache, '--metrics-file', prom, '--json'], w.env);
    expect(exported.code, exported.stderr).toBe(0);
    const e = JSON.parse(exported.stdout) as { datasets: string[]; files: Array<{ rows: number }>; rows: number; bytes: number };
    expect(e.rows).toBe(s.bars + c.bars);
    families = parseStrictly(readFileSync(prom, 'utf8'));
    const exportLabels = { command: 'export', dataset: e.datasets.join(',') };
    expect(e.datasets.sort()).toEqual([CRYPTO, STOCKS]);
    expect(valueOf(families, `${M}files_total`, { ...exportLabels, state: 'written' })).toBe(e.files.length);
    expect(valueOf(families, `${M}rows_total`, exportLabels)).toBe(e.rows);
    expect(valueOf(families, `${M}bytes_total`, exportLabels)).toBe(e.bytes);
    expect(valueOf(families, `${M}exit_code`, exportLabels)).toBe(0);
    const lastSuccess = valueOf(families, `${M}last_success_time_seconds`, { command: 'run', dataset: STOCKS });
    const cryptoEnd = valueOf(families, `${M}end_time_seconds`, { command: 'run', dataset: CRYPTO });

    // The same dataset again, with a file the server never serves: exit 1, written all the same.
    const files = dayFilesFor(w.ds, STOCKS, '2026-11-01', END);
    await w.server.setFaults([{ match: escapeRegExp(files[1]?.key ?? ''), times: -1, kind: 'status', status: 404, code: 'NoSuchKey' }]);
    const failed = await runCli(['TSLA', '--start', '2026-11-01', '--end', END, '--cache-dir', w.cacheDir('metrics-failed'), '--metrics-file', prom, '--json'], w.env);
    await w.server.setFaults([]);
    expect(failed.code, failed.stderr).toBe(1);
    const f = json(failed) as ReturnType<typeof json> & Counts;
    expect(f.files.failed).toBe(1);
    families = parseStrictly(readFileSync(prom, 'utf8'));
    const labels = { command: 'run', dataset: STOCKS };
    expect(valueOf(families, `${M}exit_code`, labels)).toBe(1);
    expect(valueOf(families, `${M}last_success_time_seconds`, labels)).toBe(lastSuccess);
    expect(valueOf(families, `${M}end_time_seconds`, labels)).toBeGreaterThan(lastSuccess ?? Infinity);
    expectCounters(families, 'run', STOCKS, f);
    // The other dataset's series, and the sync's, are as they were.
    expect(valueOf(families, `${M}end_time_seconds`, { command: 'run', dataset: CRYPTO })).toBe(cryptoEnd);
    expectCounters(families, 'run', CRYPTO, c);
    for (const p of parts) expectCounters(families, 'sync', p.dataset, p);
    expect(readdirSync(dir)).toEqual(['preload.prom']);
    const final = readFileSync(prom, 'utf8');
    for (const secret of secrets()) expect(final).not.toContain(secret);
  });

  it('is written when the store cannot be reached, with no trace of its password', async () => {
    const dir = join(w.root, 'textfile-store');
    mkdirSync(dir, { recursive: true });
    const prom = join(dir, 'store.prom');
    const r = await runCli(['status', '--store', 'postgres://someone:Pw-s3cret-42@127.0.0.1:1/market', '--metrics-file', prom], w.env);
    expect(r.code).toBe(3);
    const text = readFileSync(prom, 'utf8');
    const families = parseStrictly(text);
    expect(valueOf(families, `${M}exit_code`, { command: 'status', dataset: '' })).toBe(3);
    expect(valueOf(families, `${M}last_success_time_seconds`, { command: 'status', dataset: '' })).toBeUndefined();
    for (const secret of secrets()) {
      expect(text).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
  });
});

describe('--metrics-port', () => {
  it('serves the series, the downloads in flight and the process metrics while a slowed run works; stopped by SIGTERM, it closes and the file says 130', async () => {
    const port = await freePort();
    const dir = join(w.root, 'textfile-live');
    mkdirSync(dir, { recursive: true });
    const prom = join(dir, 'live.prom');
    await w.server.setLatency(150);
    const args = ['TSLA', '--start', '2026-05-01', '--end', END, '--cache-dir', w.cacheDir('metrics-live'), '--workers', '4', '--json'];
    const child = spawnCli([...args, '--metrics-port', String(port), '--metrics-file', prom], w.env);
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    let running = true;
    child.once('close', () => (running = false));
    const exited = once(child, 'close');
    const url = `http://127.0.0.1:${port}/metrics`;
    const scrapes: Array<{ text: string; contentType: string | null }> = [];
    try {
      // Scrape while it runs, until a scrape shows files downloaded and files in flight.
      const poll = async (): Promise<void> => {
        while (running) {
          const res = await fetch(url).catch(() => undefined);
          if (res?.ok) scrapes.push({ text: await res.text(), contentType: res.headers.get('content-type') });
          const fams = scrapes.length > 0 ? parseStrictly(scrapes.at(-1)?.text ?? '') : [];
          if ((valueOf(fams, `${M}files_total`, { command: 'run', dataset: STOCKS, state: 'downloaded' }) ?? 0) > 0 && (valueOf(fams, `${M}downloads_in_flight`, {}) ?? 0) > 0) return;
          await new Promise((done) => setTimeout(done, 100));
        }
      };
      await poll();
      expect(running, 'the run ended before a scrape saw it working').toBe(true);
      const other = await fetch(`http://127.0.0.1:${port}/other`);
      expect(other.status).toBe(404);
      // As systemd stops a service: the run stops cleanly and says so.
      child.kill('SIGTERM');
      await exited;
    } finally {
      child.kill();
      await w.server.setLatency(0);
    }
    expect(child.exitCode).toBe(130);
    const last = scrapes.at(-1);
    expect(last?.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseStrictly(last?.text ?? '');
    const labels = { command: 'run', dataset: STOCKS };
    expect(valueOf(families, `${M}downloads_in_flight`, {})).toBeGreaterThan(0);
    expect(valueOf(families, `${M}downloads_in_flight`, {})).toBeLessThanOrEqual(4);
    const downloaded = valueOf(families, `${M}files_total`, { ...labels, state: 'downloaded' }) ?? 0;
    const report = json({ code: 0, stdout, stderr: '' });
    expect(downloaded).toBeGreaterThan(0);
    expect(downloaded).toBeLessThanOrEqual(report.files.downloaded);
    expect(report.files.downloaded + report.files.skipped).toBeLessThan(report.files.listed);
    // The file: exit code 130, the counters of the report printed at the stop, no success to show.
    const file = parseStrictly(readFileSync(prom, 'utf8'));
    expect(valueOf(file, `${M}exit_code`, labels)).toBe(130);
    expect(valueOf(file, `${M}last_success_time_seconds`, labels)).toBeUndefined();
    expectCounters(file, 'run', STOCKS, report as ReturnType<typeof json> & Counts);
    // Live only: not in the file.
    expect(file.map((f) => f.name).filter((n) => !n.startsWith(M) || n === `${M}downloads_in_flight`)).toEqual([]);
    expect(valueOf(families, `${M}start_time_seconds`, labels)).toBeGreaterThan(0);
    // The end is not known yet.
    expect(valueOf(families, `${M}end_time_seconds`, labels)).toBeUndefined();
    // The process's own: CPU, memory, event-loop lag.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.find((f) => f.name === name), name).toBeDefined();
    }
    // Prometheus's naming rule, which promtool checks: only a counter ends in _total.
    for (const f of families) if (f.name.endsWith('_total')) expect(f.type, f.name).toBe('COUNTER');
    for (const s of scrapes) for (const secret of secrets()) expect(s.text).not.toContain(secret);
    // Closed with the command.
    expect(await fetch(url).then(() => 'answered', () => 'refused')).toBe('refused');
  });
});
