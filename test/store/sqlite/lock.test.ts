// The SQLite cache's sync lock: exclusive, taken or refused at once, and released by release()
// or by the death of the process that holds it (SIGKILL: no pid file, nothing left to judge).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusyError, ConfigurationError } from '../../../src/errors.js';
import { lockCache, LOCK_FILE } from '../../../src/store/sqlite/lock.js';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-lock-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A child process that takes the lock on `cacheDir`; resolves with its first line ("held" or "busy"). */
async function lockInChild(cacheDir: string): Promise<{ child: ChildProcess; said: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/lock-child.ts', cacheDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [said] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, said };
}

/** Whether the lock can be taken now (released again at once). */
function free(cacheDir: string): boolean {
  try {
    lockCache(cacheDir)();
    return true;
  } catch (error) {
    if (error instanceof BusyError) return false;
    throw error;
  }
}

describe('lockCache', () => {
  it('is exclusive: while held, a second acquire fails at once with BusyError naming the cache', () => {
    const release = lockCache(dir);
    try {
      const started = performance.now();
      let caught: unknown;
      try {
        lockCache(dir);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BusyError);
      expect((caught as BusyError).code).toBe('ERR_BUSY');
      expect((caught as BusyError).message).toContain(dir);
      // No busy wait: SQLite's default would have waited 5 s.
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      release();
    }
  });

  it('is free again after release(), and release() twice is harmless', () => {
    const release = lockCache(dir);
    expect(free(dir)).toBe(false);
    release();
    release();
    expect(free(dir)).toBe(true);
    expect(free(dir)).toBe(true);
  });

  it('creates a cache directory that does not exist yet', () => {
    const nested = join(dir, 'a', 'b');
    const release = lockCache(nested);
    expect(free(nested)).toBe(false);
    release();
  });

  it('is refused to another process while held here, and taken by it once released', async () => {
    const release = lockCache(dir);
    const refused = await lockInChild(dir);
    expect(refused.said).toBe('busy');
    release();
    const taken = await lockInChild(dir);
    expect(taken.said).toBe('held');
    expect(free(dir)).toBe(false);
  });

  it('is released when the process holding it is killed with SIGKILL', async () => {
    const { child, said } = await lockInChild(dir);
    expect(said).toBe('held');
    expect(free(dir)).toBe(false);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The kernel dropped the dead process's file lock: no waiting, no stale lock to judge.
    expect(free(dir)).toBe(true);
  });

  it('ignores a pid file left by earlier releases (sync.lock), even one naming a live process', () => {
    writeFileSync(join(dir, 'sync.lock'), String(process.pid));
    const release = lockCache(dir);
    expect(free(dir)).toBe(false);
    release();
  });

  it('says the lock file is not its own, rather than guessing, when something else wrote it', () => {
    writeFileSync(join(dir, LOCK_FILE), 'not a database, written by hand\n'.repeat(10));
    expect(() => lockCache(dir)).toThrow(ConfigurationError);
  });
});
