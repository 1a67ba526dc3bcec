// `preload-market-data status`: every job in the store, its files and (on a shared store) the
// processes working on it. Reads the store only; never touches S3.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { jobStatus } from '../job-progress.js';
import type { JobStatus } from '../store/types.js';
import { formatDuration } from './format.js';

export const STATUS_USAGE = `Usage: preload-market-data status [options]

Show every job in the store: files done, claimed, failed and left, each live process
(host, pid, files done, files per second, last heartbeat) and an ETA for the whole job.

Options:
  --store URL          a shared PostgreSQL store (env MARKET_DATA_STORE_URL)
  --cache-dir DIR      the SQLite cache directory (env MARKET_DATA_CACHE_DIR)
  --json               one JSON object: { "jobs": [...] }`;

/** Parses `status` arguments and renders the store's jobs; returns the lines to print. */
export async function status(argv: string[]): Promise<{ lines: string[] }> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { store: { type: 'string' }, 'cache-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (v.help) return { lines: [STATUS_USAGE] };
  if (positionals.length > 0) throw new InvalidOptionError('symbol', positionals, `status takes no symbol, got \`${positionals.join(' ')}\``);
  const jobs = await jobStatus({ ...(v.store !== undefined && { store: v.store }), ...(v['cache-dir'] !== undefined && { cacheDir: v['cache-dir'] }) });
  if (v.json) return { lines: [JSON.stringify({ jobs })] };
  if (jobs.length === 0) return { lines: ['No jobs in this store yet.'] };
  return { lines: jobs.flatMap(renderJob) };
}

export function renderJob(j: JobStatus): string[] {
  const left = j.pending + j.claimed;
  const live = j.processes.filter((p) => p.alive);
  const title = `${j.symbols.join(', ')} (${j.interval}) from ${j.dataset}`;
  if (!j.shared) return [title, `  files: ${j.done} done (what is left is known to the next run's listing)`];
  const lines = [
    title,
    `  files: ${j.done} of ${j.files} done, ${j.claimed} claimed, ${j.failed} failed, ${j.pending} left` +
      (left === 0 ? ' (complete)' : j.etaMs === undefined ? '' : `, ETA ${formatDuration(j.etaMs)}`),
  ];
  for (const p of j.processes) {
    const self = p.host === hostname() && p.pid === process.pid ? ' (this)' : '';
    lines.push(
      `  process ${p.id} ${p.host}:${p.pid}${self} ${p.alive ? 'live' : p.endedAt ? 'ended' : 'gone'}: ${p.filesDone} files, ` +
        `${p.filesPerSecond.toFixed(1)} files/s, last heartbeat ${p.heartbeatAt}`,
    );
  }
  if (j.processes.length > 0 && live.length === 0 && left > 0) lines.push('  no live process: run the same command to go on');
  return lines;
}
