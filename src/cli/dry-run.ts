// What the CLI prints for a dry run (`--dry-run`): per job, what a run would download and skip.
// With --json the report itself is printed (jsonReport keeps `dryRun` and `wouldDownload`).
import type { DryRunJob, PreloadReport } from '../preload.js';
import type { SyncReport } from '../sync.js';
import { formatBytes } from './format.js';

/** One line per job: "TSLA, AAPL from <dataset>, <start> to <end>: would download N files (X MB), skip M already done". */
export function dryRunSummary(r: PreloadReport | SyncReport): string {
  const reports = 'parts' in r ? r.parts.map((p) => p.report) : [r];
  const jobs = reports.flatMap((report) => report.wouldDownload?.jobs ?? []);
  const lines = ['Dry run: nothing downloaded, nothing recorded.', ...jobs.map(jobLine)];
  if (jobs.length > 1) {
    const files = jobs.reduce((n, j) => n + j.files, 0);
    const bytes = jobs.reduce((n, j) => n + j.bytes, 0);
    lines.push(`In all: would download ${files} ${plural(files, 'file')} (${formatBytes(bytes)}), skip ${jobs.reduce((n, j) => n + j.skipped, 0)} already done`);
  }
  for (const note of reports.flatMap((report) => report.notes)) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

function jobLine(j: DryRunJob): string {
  const who = j.all ? 'Every ticker' : j.symbols.join(', ');
  return `${who} from ${j.dataset}, ${j.start} to ${j.end}: would download ${j.files} ${plural(j.files, 'file')} (${formatBytes(j.bytes)}), skip ${j.skipped} already done (${j.listed} listed)`;
}

const plural = (n: number, word: string): string => (n === 1 ? word : `${word}s`);
