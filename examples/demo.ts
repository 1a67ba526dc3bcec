// The embedded default: no account needed. Generates flat files in Massive's format (a few
// hundred tickers, five years of trading days, two years of crypto, two weeks of minutes), serves them from a real
// S3-compatible server on loopback, runs the real CLI against it, then reads the bars back
// through the library like another app would.
//
//   npm run demo                      # TSLA, default 5y window, live progress bar
//   npm run demo -- AAPL MSFT --period 1y
//   npm run demo -- TSLA --clear-progress
//   npm run demo -- TSLA --interval 5m     # from the two weeks of minute files
//   npm run demo -- TSLA --cluster 3       # three processes share one job on an embedded PostgreSQL
//   npm run demo -- TSLA AAPL --export     # then `export` them to a Parquet lake and read it back with DuckDB
//   npm run demo -- TSLA --serve           # then `serve` the store and read it with the provider's official JS client
//
// The generated files carry real splits in their raw prices (TSLA's 3-for-1 of 2022-08-25 among
// them), and a REST server on loopback serves the corporate actions as the provider's API does, so
// reads are split-adjusted as they would be with MASSIVE_API_KEY set. The last two weeks of files
// also carry the real data's known defects (demo-defects.ts) on tickers of their own, and the demo
// ends with `check` naming them.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { restClient } from '@massive.com/client-js';
import { EXIT, EXIT_MEANINGS } from '../dist/cli/exit.js';
import { FLAGS } from '../dist/cli/main.js';
import { fetchSymbol, type Interval } from '../dist/index.js';
import { corporateActionsFixture } from '../test/fixtures/actions.js';
import { GENERATED_SPLITS, generateDataset } from '../test/fixtures/generate.js';
import { startPostgres, type TestPostgres } from '../test/fixtures/postgres.js';
import { startRestServer } from '../test/fixtures/rest-server.js';
import { DEFECT_TICKERS, plantDefects, type Planted } from './demo-defects.js';
import { S3_CREDENTIALS, startS3Server } from '../test/fixtures/s3-server.js';

// The SDK's notice that its 2027 releases need Node 22 (README, "Dependencies").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '.demo-data');
const cacheDir = join(dataDir, 'cache');
/**
 * The command that ends the demo: `check` over everything the store holds (docs/data-quality.md).
 * Exit 0 when clean, a distinct code when it finds warnings or errors (the demo expects it to).
 */
const CHECK = ['check', '--all'];
// --cluster N: N processes on one job, sharing an embedded PostgreSQL store (docs/several-machines.md).
const argv = process.argv.slice(2);
const at = argv.indexOf('--cluster');
const cluster = at === -1 ? 0 : Number(argv[at + 1]);
if (at !== -1 && !(Number.isInteger(cluster) && cluster >= 1 && cluster <= 8)) throw new Error(`Expected --cluster to be an integer from 1 to 8, got \`${argv[at + 1]}\``);
const clustered = at === -1 ? argv : [...argv.slice(0, at), ...argv.slice(at + 2)];
// --export: after the preload, the stored bars as a Parquet lake, read back (docs/export.md).
const exporting = clustered.includes('--export');
// --serve: after the preload, `serve` on the store, read through the provider's official JS client (docs/serve.md).
const serving = clustered.includes('--serve');
const args = clustered.filter((a) => a !== '--export' && a !== '--serve');
// Read with the CLI's own option table, so an option's value (`--period 1y`) is never a symbol.
const { values, positionals: symbols } = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: false });

console.log('Generating demo flat files (cached after the first run)...');
// Yesterday as the last day, plus two weeks of minute files (500 tickers each, ~1.3 MB) for --interval.
const end = new Date(Date.now() - 86_400_000);
const minuteFrom = new Date(end.getTime() - 14 * 86_400_000).toISOString().slice(0, 10);
const ds = await generateDataset({ dir: join(dataDir, 'store'), endDate: end.toISOString().slice(0, 10), minuteFrom, minuteTickers: 500 });
// The real data's defects, on tickers of their own (and a misdated day file, which every read survives).
const planted = plantDefects(ds, { republished: false });
const server = await startS3Server({ dir: ds.dir, latencyMs: 20 });
// The REST key of the demo: the loopback server refuses any other.
const apiKey = 'demo-rest-key';
const rest = await startRestServer({ apiKey, fixtures: corporateActionsFixture() });
console.log(`Loopback S3 server at ${server.endpoint} (20 ms per request), ${ds.files.length} day files`);
console.log(`Loopback REST server at ${rest.url}: corporate actions (splits, dividends) in the provider's format\n`);

let postgres: TestPostgres | undefined;
let store: string | undefined;
if (cluster > 0) {
  postgres = await startPostgres();
  store = await postgres.freshDatabase();
  console.log(`Embedded PostgreSQL at ${new URL(store).host}: ${cluster} processes will share one job in it\n`);
}

const env = {
  ...process.env,
  ...(store === undefined ? {} : { MARKET_DATA_STORE_URL: store }),
  MASSIVE_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
  MASSIVE_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  MASSIVE_S3_ENDPOINT: server.endpoint,
  MARKET_DATA_CACHE_DIR: cacheDir,
  MASSIVE_API_KEY: apiKey,
  MASSIVE_API_URL: rest.url,
};
try {
  // --all takes no symbols: every ticker of the generated files.
  const cli = [join(root, 'bin/preload-market-data.js'), ...(symbols.length > 0 || values.all === true ? args : ['TSLA', ...args])];
  console.log(`$ preload-market-data ${cli.slice(1).join(' ')}`);
  // In a cluster, the first process draws its bar (the whole job's progress); the others report in JSON.
  const others = Array.from({ length: Math.max(0, cluster - 1) }, () => {
    let out = '';
    const child = spawn(process.execPath, [...cli, '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    return new Promise<{ code: number | null; out: string; pid: number | undefined }>((resolve) =>
      child.on('close', (code) => resolve({ code, out, pid: child.pid })),
    );
  });
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, cli, { env, stdio: 'inherit' }).on('close', resolve);
  });
  for (const other of await Promise.all(others)) {
    const report = JSON.parse(other.out.trim() || '{}') as { files?: { downloaded: number } };
    // Named by pid, as `status` lists them.
    console.log(`pid ${other.pid}: exit ${other.code}, downloaded ${report.files?.downloaded ?? '?'} files`);
  }
  if (store !== undefined) {
    console.log(`\n$ preload-market-data status`);
    await new Promise((resolve) => spawn(process.execPath, [cli[0] ?? '', 'status'], { env, stdio: 'inherit' }).on('close', resolve));
  }
  // The CLI has already said what went wrong, if anything.
  if (code === 0) {
    const symbol = symbols[0] ?? 'TSLA';
    const interval = (typeof values.interval === 'string' ? values.interval : '1d') as Interval;
    const bars = await fetchSymbol(symbol, {
      interval,
      cacheDir,
      ...(store === undefined ? {} : { store }),
      endpoint: server.endpoint,
      credentials: { ...S3_CREDENTIALS },
      apiKey,
      apiEndpoint: rest.url,
      period: '5y',
    });
    console.log(`\nfetchSymbol('${symbol}', { period: '5y', interval: '${interval}' }) -> ${bars.length} bars from ${store === undefined ? cacheDir : 'the shared store'}; the last five:`);
    console.table(bars.slice(-5).map((b) => ({ ...b, time: new Date(b.time).toISOString() })));
    // The days around the symbol's last split in the window, as stored (raw) and as read (split-adjusted).
    const first = bars[0];
    const split = GENERATED_SPLITS.filter((x) => x.ticker === symbol.toUpperCase() && first !== undefined && x.executionDate > new Date(first.time).toISOString().slice(0, 10)).at(-1);
    if (split !== undefined && interval === '1d') {
      const around = ['--start', addDays(split.executionDate, -3), '--end', addDays(split.executionDate, 1)];
      const where = store === undefined ? ['--cache-dir', cacheDir] : ['--store', store];
      for (const adjust of [[], ['--adjust', 'none']]) {
        const shown = ['show', symbol, ...around, ...adjust];
        console.log(`\n$ preload-market-data ${shown.join(' ')}${adjust.length === 0 ? '   # split-adjusted (the default)' : '   # as the files hold them'}`);
        await new Promise((resolve) => spawn(process.execPath, [cli[0] ?? '', ...shown, ...where], { env, stdio: 'inherit' }).on('close', resolve));
      }
      console.log(`\n${symbol}'s ${split.splitTo}-for-${split.splitFrom} split of ${split.executionDate}: the raw close drops to 1/${split.splitTo / split.splitFrom}, the adjusted one does not. Its actions: preload-market-data actions ${symbol}`);
    }
    if (values.all === true) {
      // Any ticker of the files, one no command named, straight from the store; then a sync (nothing new today).
      const other = ds.tickers['us_stocks_sip/day_aggs_v1']?.find((t) => t.startsWith('Q')) ?? 'AAPL';
      const where = store === undefined ? ['--cache-dir', cacheDir] : ['--store', store];
      for (const shown of [['show', other, '--last', '3', '--adjust', 'none'], ['sync']]) {
        console.log(`\n$ preload-market-data ${shown.join(' ')}`);
        await new Promise((resolve) => spawn(process.execPath, [cli[0] ?? '', ...shown, ...where], { env, stdio: 'inherit' }).on('close', resolve));
      }
    }
    if (serving) await serveDemo(cli[0] ?? '', symbol, store === undefined ? ['--cache-dir', cacheDir] : ['--store', store]);
    if (exporting) await exportDemo(cli[0] ?? '', symbols.length > 0 ? symbols : ['TSLA'], interval, store === undefined ? ['--cache-dir', cacheDir] : ['--store', store]);
    await qualityDemo(cli[0] ?? '', planted, store === undefined ? ['--cache-dir', cacheDir] : ['--store', store]);
  }
  process.exitCode = code ?? 1;
} finally {
  await rest.close();
  await server.stop();
  await postgres?.close();
}

/** The planted defects' tickers preloaded, one of their files republished and preloaded again, then `check`. */
async function qualityDemo(bin: string, p: Planted, where: string[]): Promise<void> {
  const run = (cmd: string[]): Promise<number | null> => {
    console.log(`\n$ preload-market-data ${cmd.join(' ')}`);
    return new Promise((resolve) => spawn(process.execPath, [bin, ...cmd, ...where], { env, stdio: 'inherit' }).on('close', resolve));
  };
  const t = DEFECT_TICKERS;
  console.log(
    `\nThe provider's files have known defects (docs/data-quality.md). The demo's last ${p.start}..${p.end} files carry some:` +
      `\n  ${p.misdated.day}'s day file stamps every row ${p.misdated.claims} (stored under ${p.misdated.day}: every read above is unchanged),` +
      `\n  ${t.duplicate} twice on one day with different values, ${t.zeroVolume} a bar of volume 0, ${t.impossible} a high below its low,` +
      `\n  and ${p.republished}'s file is about to be republished with ${t.revised}'s bar changed.`,
  );
  const preload = [...Object.values(t), '--start', p.start, '--end', p.end];
  if ((await run(preload)) !== 0) return;
  plantDefects(ds, { republished: true });
  if ((await run(preload)) !== 0) return;
  const code = await run(CHECK);
  // The meaning as the README's table of exit codes gives it (src/cli/exit.ts).
  const name = (Object.keys(EXIT) as (keyof typeof EXIT)[]).find((k) => EXIT[k] === code);
  console.log(`\ncheck exited ${code}${name === undefined ? '' : `: ${EXIT_MEANINGS[name]}`}`);
}

/**
 * `serve` on the store (the real CLI, a free port), read through the provider's official JS client
 * as any app holding it would be after its one-line switch; then stopped with SIGTERM.
 */
async function serveDemo(bin: string, symbol: string, where: string[]): Promise<void> {
  const cmd = ['serve', '--port', '0', '--json'];
  console.log(`\n$ preload-market-data ${cmd.join(' ')}`);
  const child = spawn(process.execPath, [bin, ...cmd, ...where], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Its first line on stdout says where it listens (--json: {"url":...,"store":...}).
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  while (!out.includes('\n')) {
    if (child.exitCode !== null) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  // `store` as the server prints it: a path, or a URL with its password masked.
  const { url, store: served } = JSON.parse(out.split('\n')[0] ?? '{}') as { url: string; store: string };
  console.log(`serving ${served} at ${url}`);
  try {
    // The key is any string: the server has no --token (it listens on loopback only).
    const client = restClient('any-key', url);
    const to = addDays(new Date().toISOString().slice(0, 10), -1);
    const from = addDays(to, -30);
    const t = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    console.log(`\nimport { restClient } from '@massive.com/client-js';\nconst client = restClient(key, '${url}');`);
    const daily = await client.getStocksAggregates({ stocksTicker: symbol, multiplier: 1, timespan: 'day', from, to, adjusted: true } as never);
    console.log(`\nclient.getStocksAggregates({ stocksTicker: '${symbol}', multiplier: 1, timespan: 'day', from: '${from}', to: '${to}' }) -> ${daily.resultsCount} bars (adjusted: ${daily.adjusted}); the last three:`);
    console.table((daily.results ?? []).slice(-3).map((b) => ({ day: t(b.t), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v })));
    const weekly = await client.getStocksAggregates({ stocksTicker: symbol, multiplier: 1, timespan: 'week', from, to } as never);
    console.log(`client.getStocksAggregates({ ..., timespan: 'week' }) -> ${weekly.resultsCount} weeks, each starting on a Sunday:`);
    console.table((weekly.results ?? []).map((b) => ({ week: t(b.t), o: b.o, c: b.c, v: b.v })));
    const splits = await client.getStocksV1Splits({ ticker: symbol });
    console.log(`client.getStocksV1Splits({ ticker: '${symbol}' }) -> ${splits.results?.length ?? 0} splits from the stored corporate actions:`);
    console.table((splits.results ?? []).map((x) => ({ execution_date: x.execution_date, split_from: x.split_from, split_to: x.split_to })));
  } catch (error) {
    const e = error as { response?: { status: number; data: unknown }; message: string };
    console.log(`(the client got ${e.response === undefined ? e.message : `${e.response.status} ${JSON.stringify(e.response.data)}`})`);
  } finally {
    console.log(
      `\nAny official client of the provider switches with one line (docs/serve.md):` +
        `\n  Python:     RESTClient(api_key, base="${url}")` +
        `\n  JavaScript: restClient(key, "${url}")` +
        `\n  Go:         c := polygon.New(key); c.HTTP.SetBaseURL("${url}")`,
    );
    child.kill('SIGTERM');
    console.log(`\nSIGTERM: serve exited ${await exited}`);
  }
}

/** `export` of what the demo preloaded, then the lake read back with DuckDB's read_parquet. */
async function exportDemo(bin: string, exported: readonly string[], interval: string, where: string[]): Promise<void> {
  const lake = join(dataDir, 'lake');
  const cmd = ['export', ...exported, '--interval', interval, '--out', lake];
  console.log(`\n$ preload-market-data ${cmd.join(' ')}`);
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, [bin, ...cmd, ...where], { env, stdio: 'inherit' }).on('close', resolve));
  if (code !== 0) return;
  const sql = `SELECT symbol, time, day, open, close, volume, year FROM read_parquet('${lake}/interval=${interval}/*/*.parquet', hive_partitioning = true) ORDER BY time DESC, symbol LIMIT 5`;
  console.log(`\nRead back with DuckDB (polars: pl.scan_parquet('${lake}/**/*.parquet', hive_partitioning=True); pandas: pd.read_parquet('${lake}')):\n  ${sql}`);
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    const rows = (await connection.runAndReadAll(sql)).getRowObjectsJson();
    console.table(rows);
    connection.closeSync();
  } catch (error) {
    console.log(`(DuckDB could not read it back here: ${(error as Error).message.split('\n')[0]})`);
  }
}
