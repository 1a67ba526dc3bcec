// `preload-market-data status`: every job in the store, its files and (on a shared store) the
// processes working on it. Reads the store only; never touches S3.
import { hostname } from 'node:os';
import { InvalidOptionError } from '../errors.js';
import { jobStatus } from '../job-progress.js';
import type { JobStatus } from '../store/types.js';
import type { Context } from './context.js';
import { EXIT } from './exit.js';
import { formatDuration } from './format.js';

export async function statusCommand(ctx: Context): Promise<number> {
  const { positionals } = ctx.line;
  if (positionals.length > 0) throw new InvalidOptionError('symbol', positionals, `status takes no symbol, got \`${positionals.join(' ')}\``);
  const jobs = await jobStatus(ctx.options);
  if (ctx.json) ctx.out(JSON.stringify({ jobs }));
  else if (jobs.length === 0) ctx.out('No jobs in this store yet.');
  else for (const line of jobs.flatMap(renderJob)) ctx.out(line);
  return EXIT.ok;
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
