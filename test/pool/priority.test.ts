import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadPool } from '../../src/pool/pool.js';
import { lowerThreadPriority } from '../../src/pool/priority.js';

const onLinux = process.platform === 'linux';

/** The kernel's nice value of each thread of this process, by thread id (Linux: /proc). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  if (!onLinux) return out;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      // Field 19 of stat is the nice value; the 2nd (comm) is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

let pool: DownloadPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('worker thread priority', () => {
  it("lowers the pool's threads, and only them, by the nice value asked (the kernel's own count)", async () => {
    const before = niceByThread();
    pool = new DownloadPool({ threads: 2, perThread: 1 }, 7);
    let lowered: number[] = [];
    for (let waited = 0; waited < 15_000 && lowered.length < 2; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
      lowered = [...niceByThread()].filter(([tid, nice]) => nice === 7 && !before.has(tid)).map(([tid]) => tid);
    }
    if (onLinux) {
      expect(lowered).toHaveLength(2);
      // The main thread (tid = pid) and every thread that was there before keep their value.
      for (const [tid, nice] of niceByThread()) if (before.has(tid)) expect(nice, `thread ${tid}`).toBe(before.get(tid));
    } else {
      expect(lowered).toHaveLength(0);
    }
  });

  it('leaves the threads as they are by default, and with 0', async () => {
    const before = niceByThread();
    pool = new DownloadPool({ threads: 2, perThread: 1 });
    await new Promise((r) => setTimeout(r, 1_500));
    const added = [...niceByThread()].filter(([tid]) => !before.has(tid));
    if (onLinux) expect(added.length).toBeGreaterThan(0);
    for (const [tid, nice] of added) expect(nice, `thread ${tid}`).toBe(before.get(process.pid));
    expect(lowerThreadPriority(0)).toBe(false);
  });
});
