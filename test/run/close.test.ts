// The close path of a whole Run (real download threads, --offline from a raw mirror holding only
// the files' metadata, so every download fails ERR_OFFLINE) over a fake queue whose fail() lands
// late: the failure must be recorded before the run releases its claims and closes the queue,
// or the file would be left pending instead of failed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreloadAbortedError, Run } from '../../src/run/run.js';
import type { PreloadEvent } from '../../src/events.js';
import { dayFile, FakeQueue, FakeStore, options, plans } from '../fixtures/run-fakes.js';

const DAYS = ['2026-01-05', '2026-01-06'];
const FAIL_LANDS_MS = 300;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-run-close-'));
  // Listed from the mirror's metadata; with no body beside it, the worker fails the file offline.
  for (const day of DAYS) {
    const f = dayFile(day);
    const meta = join(dir, 'raw', `${f.key}.meta.json`);
    mkdirSync(dirname(meta), { recursive: true });
    writeFileSync(meta, JSON.stringify({ size: f.size, etag: f.etag, lastModified: undefined }));
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lateFail = (queue: FakeQueue, before?: () => void): void => {
  queue.hooks.fail = async () => {
    before?.();
    await new Promise((r) => setTimeout(r, FAIL_LANDS_MS));
  };
};

describe('Run close path', () => {
  it('awaits a late fail() before it closes the queue', async () => {
    const queue = new FakeQueue();
    lateFail(queue);
    const events: PreloadEvent[] = [];
    const o = options({ cacheDir: dir, offline: true, workers: 2, threads: 1, onProgress: (e) => events.push(e) });
    const report = await new Run(new FakeStore(queue), plans(['TSLA'], { start: '2026-01-01', end: '2026-01-31' }), o).execute(performance.now());
    expect(report.files).toEqual({ listed: 2, downloaded: 0, skipped: 0, failed: 2 });
    expect(report.failures.map((f) => f.code)).toEqual(['ERR_OFFLINE', 'ERR_OFFLINE']);
    expect(queue.log.filter((c) => c === 'fail:done')).toHaveLength(2);
    expect(queue.log.lastIndexOf('fail:done')).toBeLessThan(queue.log.indexOf('close'));
    expect(events.filter((e) => e.type === 'failure')).toHaveLength(2);
  });

  it('on a shared store stopped mid-run: the late fail() lands before the release, the final counts and close', async () => {
    const queue = new FakeQueue({ processId: 1 });
    queue.share = 1;
    const controller = new AbortController();
    // The first file is claimed and started; the second claim is answered only once the first
    // file's failure is being written and the run is stopping: it is then released unstarted.
    let failing: () => void = () => undefined;
    const failed = new Promise<void>((r) => (failing = r));
    let claims = 0;
    queue.hooks.claim = async (n) => {
      if (++claims === 2) await failed;
      return queue.take(n);
    };
    lateFail(queue, () => {
      controller.abort();
      failing();
    });
    const o = options({ cacheDir: dir, offline: true, workers: 2, threads: 1, signal: controller.signal });
    const run = new Run(new FakeStore(queue), plans(['TSLA'], { start: '2026-01-01', end: '2026-01-31' }), o);
    const error = await run.execute(performance.now()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreloadAbortedError);
    const { report } = error as PreloadAbortedError;
    expect(report.files.failed).toBe(1);
    expect(report.job?.processId).toBe(1);
    expect(queue.released.map((i) => i.file.day)).toEqual([DAYS[1]]);
    const landed = queue.log.indexOf('fail:done');
    expect(landed).toBeGreaterThan(-1);
    for (const call of ['release', 'counts', 'processes', 'close']) {
      expect(queue.log.lastIndexOf(call), `${call} after the fail write: ${queue.log.join(' ')}`).toBeGreaterThan(landed);
    }
  });
});
