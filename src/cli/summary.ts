// What the CLI prints when a run ends: the human summary and the `--json` document.
import { newYorkOffset } from '../market-time.js';
import type { PreloadReport } from '../preload.js';
import { formatBytes, formatDuration } from './format.js';

/** The `--json` document: exactly the documented fields. */
export function jsonReport(r: PreloadReport): Record<string, unknown> {
  return {
    symbols: r.symbols,
    all: r.all,
    ...(r.all ? { tickers: r.tickers } : {}),
    dataset: r.dataset,
    interval: r.interval,
    start: r.start,
    end: r.end,
    files: r.files,
    bytes: r.bytes,
    bars: r.bars,
    elapsedMs: r.elapsedMs,
    failures: r.failures,
    retries: r.retries,
    throttled: r.throttled,
    republished: r.republished,
    fromRawMirror: r.fromRawMirror,
    notes: r.notes,
    malformedRows: r.malformedRows,
    duplicateRows: r.duplicateRows,
    barRange: r.barRange,
    ...(r.job ? { job: r.job } : {}),
    ...(r.unmatchedSymbols ? { unmatchedSymbols: r.unmatchedSymbols } : {}),
    ...(r.duplicateFiles ? { duplicateFiles: r.duplicateFiles } : {}),
    ...(r.misdatedFiles ? { misdatedFiles: r.misdatedFiles } : {}),
    ...(r.outsideSession ? { outsideSession: r.outsideSession } : {}),
    ...(r.dryRun ? { dryRun: true, wouldDownload: r.wouldDownload } : {}),
  };
}

/**
 * Days for day bars; for minute bars New York date and time, since the evening session of a
 * trading day ends past midnight UTC (its last bar would otherwise show the next day).
 */
function barRange(interval: string, range: { first: string; last: string }): string {
  if (interval === '1d') return `${range.first.slice(0, 10)} to ${range.last.slice(0, 10)}`;
  const ny = (iso: string): string => {
    const ms = Date.parse(iso);
    return new Date(ms + newYorkOffset(ms)).toISOString().slice(0, 16).replace('T', ' ');
  };
  return `${ny(range.first)} to ${ny(range.last)} New York time`;
}

/**
 * The human summary of a run. `sync` is for a part of a sync, which takes no --clear-progress:
 * the line saying there was nothing to download does not offer it.
 */
export function summary(r: PreloadReport, opts: { sync?: boolean } = {}): string {
  const f = r.files;
  const lines: string[] = [];
  if (f.downloaded === 0 && f.failed === 0 && f.listed > 0 && f.skipped === f.listed) {
    const hint = opts.sync === true ? '' : ' (--clear-progress starts over)';
    lines.push(`Nothing to download: all ${f.listed} files of ${r.start} to ${r.end} are already in the cache${hint}.`);
  }
  lines.push(
    `${r.all ? 'Every ticker' : r.symbols.join(', ')} from ${r.dataset}, ${r.start} to ${r.end}`,
    `  files:   ${f.listed} listed, ${f.downloaded} downloaded, ${f.skipped} resumed-skipped, ${f.failed} failed`,
    `  data:    ${formatBytes(r.bytes)} downloaded, ${r.bars} bars merged` +
      (r.retries > 0 ? `, ${r.retries} retries` : '') +
      (r.republished > 0 ? `, ${r.republished} republished files replaced` : '') +
      (r.malformedRows > 0 ? `, ${r.malformedRows} malformed rows skipped` : '') +
      (r.duplicateRows > 0 ? `, ${r.duplicateRows} duplicate rows merged` : ''),
    r.all
      ? `  bars:    ${r.bars} rows of ${r.tickers} tickers stored by this run`
      : `  bars:    ${r.barRange ? `${barRange(r.interval, r.barRange)} in the cache` : 'none in the cache for this window'}`,
    `  elapsed: ${formatDuration(r.elapsedMs)}`,
  );
  if (r.job) {
    const live = r.job.processes.length;
    lines.push(
      `  job:     ${r.job.done} of ${r.job.files} files done, ${r.job.failed} failed, by ${live} process${live === 1 ? '' : 'es'} sharing the store (this one: ${f.downloaded})`,
    );
  }
  lines.push(...unmatchedLines(r), ...calendarLines(r));
  for (const note of r.notes) lines.push(`  note: ${note}`);
  for (const failure of r.failures) lines.push(`  FAILED ${failure.key}: ${failure.message} [${failure.code}]`);
  if (r.failures.length > 0 || (r.job?.failed ?? 0) > 0) lines.push('Run the same command again to retry the failed files.');
  return lines.join('\n');
}

/** Files whose rows said another day than the file, or repeated a bar with other values: named, with what was done with them. */
function calendarLines(r: PreloadReport): string[] {
  const name = (key: string): string => key.slice(key.lastIndexOf('/') + 1);
  return [
    ...(r.misdatedFiles ?? []).map(
      (m) => `  misdated: ${name(m.key)}: ${m.rows} row${m.rows === 1 ? '' : 's'} stamped ${m.claimedDate}, stored under ${m.day} (${m.key})`,
    ),
    ...(r.outsideSession ?? []).map(
      (o) => `  outside session: ${name(o.key)}: ${o.rows} row${o.rows === 1 ? '' : 's'} outside ${o.day}, kept with their own time (${o.key})`,
    ),
    ...(r.duplicateFiles ?? []).map(
      (d) => `  duplicates: ${name(d.key)}: ${d.rows} row${d.rows === 1 ? '' : 's'} of a ticker and time with other values than the file's last, dropped (${d.key})`,
    ),
  ];
}

/** A symbol no file of its window had a row of: named, so that a typo does not read as a success. */
function unmatchedLines(r: PreloadReport): string[] {
  const unmatched = r.unmatchedSymbols ?? [];
  const lines = unmatched.map((symbol) => {
    const files = r.unmatchedWindowFiles?.[symbol] ?? 0;
    return `  ${symbol}: no row in any of the ${files.toLocaleString('en-US')} file${files === 1 ? '' : 's'} of its window (a typo?)`;
  });
  if (unmatched.length > 0 && unmatched.length === r.symbols.length) lines.push('  No symbol of this run matched a row: nothing was stored for them.');
  return lines;
}
