/**
 * Summarises the .cpuprofile files `node --cpu-prof` writes (one per thread): self time summed by
 * function (name + file + line) and by module, for the main thread and for all workers together.
 *
 * The profiler samples JavaScript threads by wall clock: work on libuv's thread pool (async zlib,
 * async crypto) is not in any profile, and a thread waiting for a core counts as busy in whatever
 * function it was preempted (often a native call that woke another thread).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  /** Microseconds before each sample. */
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  /** Share of the thread group's busy (non-idle) time. */
  pct: number;
}

export interface ThreadSummary {
  threads: number;
  /** Sampled time, summed over the group's threads. */
  totalMs: number;
  idleMs: number;
  functions: Entry[];
  modules: Entry[];
}

export interface ProfileSummary {
  main: ThreadSummary;
  workers: ThreadSummary;
}

// Samples of these are not work: the thread was waiting.
const IDLE = new Set(['(idle)', '(root)']);

/** Where a frame comes from: `node:zlib`, an npm package, a file of this project's build, or V8 itself. */
function moduleOf(url: string, root: string): string {
  if (url === '') return '(v8/native)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const rel = path.relative(root, url.replace(/^file:\/\//, ''));
  const nm = rel.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const parts = rel.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? rel);
  }
  return rel;
}

function summarise(files: string[], root: string, top: number): ThreadSummary {
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    p.samples.forEach((id, i) => {
      // A sample stands for the time until the next one (as Chrome DevTools counts it).
      const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
      const f = frames.get(id);
      if (!f) return;
      totalMs += ms;
      if (IDLE.has(f.functionName)) {
        idleMs += ms;
        return;
      }
      const where = f.url === '' ? '' : ` ${moduleOf(f.url, root)}:${f.lineNumber + 1}`;
      const name = `${f.functionName || '(anonymous)'}${where}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
      const mod = moduleOf(f.url, root);
      byModule.set(mod, (byModule.get(mod) ?? 0) + ms);
    });
  }
  const busy = totalMs - idleMs;
  const rank = (m: Map<string, number>): Entry[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: busy > 0 ? Math.round((1000 * ms) / busy) / 10 : 0 }));
  return { threads: files.length, totalMs: Math.round(totalMs), idleMs: Math.round(idleMs), functions: rank(byFunction), modules: rank(byModule) };
}

/** Reads every profile in `dir`; node names them CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile. */
export function summariseProfiles(dir: string, root: string, top = 15): ProfileSummary {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ file: path.join(dir, f), thread: f.split('.')[4] }));
  return {
    main: summarise(files.filter((f) => f.thread === '0').map((f) => f.file), root, top),
    workers: summarise(files.filter((f) => f.thread !== '0').map((f) => f.file), root, top),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines: string[] = [];
  for (const [label, t] of [['main thread', s.main], ['worker threads', s.workers]] as const) {
    const busy = t.totalMs - t.idleMs;
    lines.push(`${label} (${t.threads} profile${t.threads === 1 ? '' : 's'}): ${busy} ms busy of ${t.totalMs} ms sampled`);
    lines.push('  top self time by function:');
    for (const e of t.functions) lines.push(`    ${String(e.ms).padStart(6)} ms ${e.pct.toFixed(1).padStart(5)}%  ${e.name}`);
    lines.push('  by module:');
    for (const e of t.modules.slice(0, 8)) lines.push(`    ${String(e.ms).padStart(6)} ms ${e.pct.toFixed(1).padStart(5)}%  ${e.name}`);
  }
  return lines.join('\n');
}
