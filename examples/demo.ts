// The embedded default: no account needed. Generates flat files in Massive's format (a few
// hundred tickers, five years of trading days, two years of crypto), serves them from a real
// S3-compatible server on loopback, runs the real CLI against it, then reads the bars back
// through the library like another app would.
//
//   npm run demo                      # TSLA, default 5y window, live progress bar
//   npm run demo -- AAPL MSFT --period 1y
//   npm run demo -- TSLA --clear-progress
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchSymbol } from '../dist/index.js';
import { generateDataset } from '../test/fixtures/generate.js';
import { S3_CREDENTIALS, startS3Server } from '../test/fixtures/s3-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '.demo-data');
const cacheDir = join(dataDir, 'cache');
const args = process.argv.slice(2);
const symbols = args.filter((a) => !a.startsWith('-'));

console.log('Generating demo flat files (cached after the first run)...');
const ds = await generateDataset({ dir: join(dataDir, 'store') });
const server = await startS3Server({ dir: ds.dir, latencyMs: 20 });
console.log(`Loopback S3 server at ${server.endpoint} (20 ms per request), ${ds.files.length} day files\n`);

const env = {
  ...process.env,
  MASSIVE_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
  MASSIVE_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  MASSIVE_S3_ENDPOINT: server.endpoint,
  MARKET_DATA_CACHE_DIR: cacheDir,
};
try {
  const cli = [join(root, 'bin/preload-market-data.js'), ...(symbols.length > 0 ? args : ['TSLA', ...args])];
  console.log(`$ preload-market-data ${cli.slice(1).join(' ')}`);
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, cli, { env, stdio: 'inherit' }).on('close', resolve);
  });
  const symbol = symbols[0] ?? 'TSLA';
  const bars = await fetchSymbol(symbol, {
    cacheDir,
    endpoint: server.endpoint,
    credentials: { ...S3_CREDENTIALS },
    period: '5y',
  });
  console.log(`\nfetchSymbol('${symbol}', { period: '5y' }) -> ${bars.length} bars from ${cacheDir}; the last five:`);
  console.table(bars.slice(-5).map((b) => ({ ...b, time: new Date(b.time).toISOString() })));
  process.exitCode = code ?? 1;
} finally {
  await server.stop();
}
