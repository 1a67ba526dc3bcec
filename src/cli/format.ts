// Pure formatting helpers for the CLI's bar and summary (kept apart so they are unit-testable).

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** ETA from the download rate so far; skipped files do not count as speed. */
export function estimateRemainingMs(o: { total: number; done: number; worked: number; elapsedMs: number; listingDone: boolean }): number {
  if (!o.listingDone || o.worked === 0) return Number.NaN;
  const remaining = o.total - o.done;
  return (remaining * o.elapsedMs) / o.worked;
}

/** A failure's message without the key some messages start with. */
export function failureMessage(f: { key: string; message: string }): string {
  return f.message.startsWith(`${f.key}: `) ? f.message.slice(f.key.length + 2) : f.message;
}

/** `failed: key: message [code]`, naming the key once: some messages already start with it. */
export function failureLine(f: { key: string; message: string; code: string }): string {
  return `failed: ${f.key}: ${failureMessage(f)} [${f.code}]`;
}
