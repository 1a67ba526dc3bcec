// The CLI as a user runs it (a child process of dist/): where a subcommand is found, one-line
// usage errors, the common flags on every command, Ctrl+C twice, and show's table.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { JobSpec, Store } from '../../src/store/types.js';
import { corporateActionsFixture } from '../fixtures/actions.js';
import { runCli, spawnCli } from '../e2e/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'pmd-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Nothing here may reach a network: an endpoint that refuses at once.
const env = { PATH: process.env['PATH'], MASSIVE_S3_ENDPOINT: 'http://127.0.0.1:9', MASSIVE_ACCESS_KEY_ID: 'id-not-used', MASSIVE_SECRET_ACCESS_KEY: 'secret-not-used' };

describe('a subcommand after global options', () => {
  it.each([
    [['--cache-dir', join(root, 'empty'), 'sync']],
    [['--json', '--cache-dir', join(root, 'empty'), 'sync']],
    [['--cache-dir', join(root, 'empty'), '--quiet', 'sync']],
  ])('%j runs sync (not a run of a ticker SYNC)', async (args) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^preload-market-data sync: Nothing to sync/)]);
  });

  it('runs status after --cache-dir or --store', async () => {
    const r = await runCli(['--cache-dir', join(root, 'empty'), 'status'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('No jobs in this store yet.');
    const json = await runCli(['--cache-dir', join(root, 'empty'), '--json', 'status'], env);
    expect(JSON.parse(json.stdout)).toEqual({ jobs: [] });
    const down = await runCli(['--store', 'postgres://me:hunter22@127.0.0.1:9/x', 'status'], env);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^preload-market-data status: /);
    expect(down.stdout + down.stderr).not.toContain('hunter22');
  });
});

describe('usage errors', () => {
  it.each([
    [['TSLA', '--perod', '1y'], 'preload-market-data: unknown option --perod (did you mean --period?)'],
    [['--perod', '1y', 'TSLA'], 'preload-market-data: unknown option --perod (did you mean --period?)'],
    [['export', 'TSLA', '--out', 'x', '--fromat', 'csv'], 'preload-market-data export: unknown option --fromat (did you mean --format?)'],
    [['TSLA', '--adjust', 'none'], 'preload-market-data: a run takes no --adjust (an option of show, export)'],
  ])('%j: one line naming the nearest valid option, exit 2', async (args, line) => {
    const r = await runCli([...args, '--cache-dir', join(root, 'usage')], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([line]);
  });

  it('export --help is generated per command and lists its flags', async () => {
    const r = await runCli(['export', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: preload-market-data export (<SYMBOL...> | --all) --out DIR [options]');
    for (const flag of ['--out DIR', '--format F', '--partition P', '--adjust A', '--quiet', '--json', '--verbose', '--cache-dir DIR', '--store URL']) expect(r.stdout).toContain(flag);
    expect(r.stdout).not.toContain('--workers');
  });
});

describe('common flags on every command', () => {
  it('export takes --quiet: nothing printed on success', async () => {
    const r = await runCli(['export', 'TSLA', '--out', join(root, 'lake'), '--cache-dir', join(root, 'empty'), '--quiet'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('a second Ctrl+C ends a command that is not a run at once (a command that only reads, the first), exit 130', async () => {
    // A "PostgreSQL server" that accepts connections and never answers: sync and status wait on it.
    const sockets: Socket[] = [];
    let connected: () => void = () => undefined;
    const accepted = new Promise<void>((resolve) => (connected = resolve));
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      connected();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const started = (args: string[]) => {
      const child = spawnCli([...args, '--store', `postgres://me:pw@127.0.0.1:${port}/x`], env);
      return { child, exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
    };
    try {
      const sync = started(['sync']);
      await accepted;
      sync.child.kill('SIGINT');
      // One Ctrl+C asks sync to stop and keep what it did: the store is still being waited for.
      const early = await Promise.race([sync.exited, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 500))]);
      expect(early).toBe('waiting');
      sync.child.kill('SIGINT');
      expect(await sync.exited).toBe(130);

      const before = sockets.length;
      const status = started(['status']);
      while (sockets.length === before) await new Promise((resolve) => setTimeout(resolve, 10));
      status.child.kill('SIGINT');
      expect(await status.exited).toBe(130);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('show', () => {
  const cacheDir = join(root, 'show');
  const job: JobSpec = { job: 'cli/show', dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', tickers: ['TSLA'] };
  const days = ['2022-08-22', '2022-08-26'];

  beforeAll(async () => {
    const store: Store = openSqliteStore(cacheDir);
    try {
      await store.prepareJob(job, { clear: false });
      const queue = await store.openQueue([job]);
      try {
        await queue.offer(job, days.map((day) => ({ key: `${job.dataset}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`, day, size: 1000, etag: `e-${day}`, lastModified: undefined })));
        const items = await queue.claim(days.length);
        await queue.complete(
          items.map((item) => ({
            job,
            file: item.file,
            // Before TSLA's 3-for-1 of 2022-08-25 a high of 642.94 as traded: 214.31333333333333 adjusted.
            rows: [{ ticker: 'TSLA', time: Date.parse(`${item.file.day}T04:00:00Z`), open: 640, high: 642.94, low: 630, close: 641, volume: 3_000_000, transactions: 5000 }],
          })),
        );
      } finally {
        await queue.close();
      }
      await store.replaceActions(new Map([['TSLA', corporateActionsFixture().get('TSLA') ?? { splits: [], dividends: [] }]]), new Date().toISOString());
    } finally {
      await store.close();
    }
  });

  it('rounds adjusted prices in the table, and keeps every digit in csv and --json', async () => {
    const table = await runCli(['show', 'TSLA', '--cache-dir', cacheDir], env);
    expect(table.code, table.stderr).toBe(0);
    const first = table.stdout.split('\n')[1] ?? '';
    expect(first).toMatch(/^2022-08-22T04:00:00\.000Z +213\.3333 +214\.3133 +210 +213\.6667 +9000000 +5000$/);
    const csv = await runCli(['show', 'TSLA', '--cache-dir', cacheDir, '--format', 'csv'], env);
    expect(csv.stdout.split('\n')[1]).toContain(',214.31333333333333,');
    const json = await runCli(['show', 'TSLA', '--cache-dir', cacheDir, '--json'], env);
    const bars = (JSON.parse(json.stdout) as { bars: Array<{ high: number }> }).bars;
    expect(bars[0]?.high).toBe(214.31333333333333);
  });
});
