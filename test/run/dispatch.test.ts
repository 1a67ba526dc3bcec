import { describe, expect, it } from 'vitest';
import { NotEntitledError } from '../../src/errors.js';
import type { FailureEvent } from '../../src/events.js';
import type { DownloadTask, TaskResult } from '../../src/pool/messages.js';
import { Dispatch, taskSettings, type DispatchParts } from '../../src/run/dispatch.js';
import { Jobs } from '../../src/run/jobs.js';
import { FailurePolicy } from '../../src/run/policy.js';
import { RunStats } from '../../src/run/stats.js';
import { BatchWriter } from '../../src/run/writer.js';
import type { WorkItem } from '../../src/store/types.js';
import { dayFile, deferred, FakeQueue, plans, settle } from '../fixtures/run-fakes.js';

const [plan] = plans(['TSLA', 'AAPL']);
if (!plan) throw new Error('no plan');
const item = (day = '2026-01-05'): WorkItem => ({ job: plan.job, file: { ...dayFile(day), lastModified: '2026-01-06T00:00:00.000Z' } });
const settings = taskSettings(
  { retries: 2, retryDelayMs: 10, timeoutMs: 1_000, keepRaw: false, offline: false },
  { config: undefined, rateLimit: undefined, throttleSignal: new SharedArrayBuffer(4), rawDir: '/raw' },
);

const ok = (over: Partial<TaskResult> = {}): TaskResult =>
  ({
    ok: true,
    key: item().file.key,
    bytes: 100,
    rows: [{ ticker: 'TSLA', time: 1, open: 1, high: 1, low: 1, close: 1, volume: 1, transactions: 1 }],
    malformed: 1,
    duplicates: 0,
    retries: 1,
    throttled: 0,
    fromMirror: false,
    ...over,
  }) as TaskResult;
const failed = (code: string, over: Partial<TaskResult> = {}): TaskResult =>
  ({ ok: false, key: item().file.key, code, message: `${code} message`, retries: 0, throttled: 0, ...over }) as TaskResult;

function setup(result: (task: DownloadTask) => Promise<TaskResult>, parts: Partial<DispatchParts> = {}) {
  const queue = new FakeQueue();
  const stats = new RunStats();
  const errors: unknown[] = [];
  const events: FailureEvent[] = [];
  const tasks: DownloadTask[] = [];
  const controller = new AbortController();
  let calm = 0;
  const fail = (error: unknown): void => {
    errors.push(error);
    controller.abort();
  };
  const dispatch = new Dispatch({
    jobs: new Jobs([plan as NonNullable<typeof plan>]),
    download: (task) => {
      tasks.push(task);
      return result(task);
    },
    task: settings,
    queue,
    writer: new BatchWriter((batch) => queue.complete(batch), fail),
    stats,
    limit: { calm: () => (calm += 1) },
    policy: new FailurePolicy('http://s3.test'),
    signal: controller.signal,
    onFailure: (e) => events.push(e),
    fail,
    ...parts,
  });
  return { dispatch, queue, stats, errors, events, tasks, controller, calms: () => calm };
}

describe('Dispatch', () => {
  it("passes what the store records with a file: its duplicate rows' note, and whether the listing found it republished", async () => {
    const conflict = { ticker: 'TSLA', time: 1, before: { open: 2, high: 2, low: 2, close: 2, volume: 2, transactions: 2 }, after: { open: 1, high: 1, low: 1, close: 1, volume: 1, transactions: null } };
    const republished = item('2026-01-06');
    const t = setup(() => Promise.resolve(ok({ duplicates: 2, duplicateConflicts: { rows: 1, examples: [conflict] } })), {
      replaces: (i) => i.file.key === republished.file.key,
    });
    await t.dispatch.file(item());
    await t.dispatch.file(republished);
    expect(t.queue.completed.map((c) => [c.file.day, c.replaces === true])).toEqual([
      ['2026-01-05', false],
      ['2026-01-06', true],
    ]);
    expect(t.queue.completed[0]?.notes).toEqual([{ kind: 'duplicate', detail: { rows: 1, examples: [conflict] } }]);
    expect(t.stats.duplicates).toBe(4);
  });

  it('builds the task from the shared settings and the file, and commits a download with its bars', async () => {
    const t = setup(() => Promise.resolve(ok()));
    await t.dispatch.file(item());
    expect(t.tasks).toEqual([
      {
        ...settings,
        key: item().file.key,
        day: '2026-01-05',
        size: 100,
        etag: 'e-2026-01-05',
        tickers: ['TSLA', 'AAPL'],
        all: false,
        lastModified: '2026-01-06T00:00:00.000Z',
      },
    ]);
    // Settled only once committed: the file is in flight until then.
    expect(t.queue.completed.map((c) => c.file.day)).toEqual(['2026-01-05']);
    expect(t.queue.completed[0]?.job.job).toBe(plan.job);
    expect(t.stats.counts).toMatchObject({ downloaded: 1, bytes: 100, bars: 1, retries: 1 });
    expect(t.stats.malformed).toBe(1);
    expect(t.calms()).toBe(1);
    expect(t.errors).toEqual([]);
  });

  it('a throttled download does not count as calm', async () => {
    const t = setup(() => Promise.resolve(ok({ throttled: 2 })));
    await t.dispatch.file(item());
    expect(t.calms()).toBe(0);
  });

  it('a download stopped by the abort is released, neither done nor failed', async () => {
    const t = setup(() => Promise.resolve(failed('ERR_ABORTED')));
    t.queue.release = () => Promise.reject(new Error('queue closing')); // ignored: the next run redoes it
    await t.dispatch.file(item());
    expect(t.stats.counts.failed).toBe(0);
    expect(t.queue.failed).toEqual([]);
    expect(t.events).toEqual([]);
    expect(t.errors).toEqual([]);

    const released = setup(() => Promise.resolve(failed('ERR_ABORTED')));
    await released.dispatch.file(item());
    expect(released.queue.released).toEqual([item()]);
  });

  it('a failed file is counted, reported and recorded, and settles only once the record has landed', async () => {
    const t = setup(() => Promise.resolve(failed('ERR_INTEGRITY')));
    const lands = deferred();
    t.queue.hooks.fail = () => lands.promise;
    let settled = false;
    const done = t.dispatch.file(item()).then(() => (settled = true));
    await settle();
    expect(t.queue.failed).toEqual([{ item: item(), failure: { key: item().file.key, code: 'ERR_INTEGRITY', message: 'ERR_INTEGRITY message' } }]);
    expect(t.events).toEqual([{ type: 'failure', key: item().file.key, code: 'ERR_INTEGRITY', message: 'ERR_INTEGRITY message', attempts: 1 }]);
    expect(t.stats.counts.failed).toBe(1);
    expect(t.dispatch.failedJobs.has(plan.job)).toBe(true);
    expect(settled).toBe(false);
    lands.resolve();
    await done;
    expect(t.errors).toEqual([]); // the run goes on with the other files
  });

  it('a file that means the run must stop stops it at once, before its record lands', async () => {
    const t = setup(() => Promise.resolve(failed('ERR_NOT_ENTITLED')));
    const lands = deferred();
    t.queue.hooks.fail = () => lands.promise;
    const done = t.dispatch.file(item());
    await settle();
    expect(t.errors).toEqual([new NotEntitledError(plan.dataset, item().file.key)]);
    expect(t.controller.signal.aborted).toBe(true);
    lands.resolve();
    await done;
    expect(t.queue.log).toEqual(['fail', 'fail:done']);
  });

  it('a record that fails stops the run with its error', async () => {
    const t = setup(() => Promise.resolve(failed('ERR_PARSE')));
    t.queue.hooks.fail = () => Promise.reject(new Error('store gone'));
    await t.dispatch.file(item());
    expect(t.errors).toEqual([new Error('store gone')]);
  });

  it('a download that throws stops the run, unless the run was already stopping', async () => {
    const t = setup(() => Promise.reject(new Error('worker died')));
    await t.dispatch.file(item());
    expect(t.errors).toEqual([new Error('worker died')]);

    const aborted = setup(() => Promise.reject(new Error('pool closed')));
    aborted.controller.abort();
    await aborted.dispatch.file(item());
    expect(aborted.errors).toEqual([]);
  });

  it('an item of a job that is not the run\'s stops the run', async () => {
    const t = setup(() => Promise.resolve(ok()));
    await t.dispatch.file({ job: 'other', file: dayFile('2026-01-05') });
    expect(t.errors).toEqual([new RangeError('unknown job other')]);
    expect(t.tasks).toEqual([]);
  });
});

describe('taskSettings', () => {
  it('reads the raw mirror only with keepRaw or offline', () => {
    const run = { config: undefined, rateLimit: undefined, throttleSignal: new SharedArrayBuffer(4), rawDir: '/c/raw' };
    const o = { retries: 1, retryDelayMs: 2, timeoutMs: 3, keepRaw: false, offline: false };
    expect(taskSettings(o, run).rawDir).toBeUndefined();
    expect(taskSettings({ ...o, keepRaw: true }, run).rawDir).toBe('/c/raw');
    expect(taskSettings({ ...o, offline: true }, run).rawDir).toBe('/c/raw');
    expect(taskSettings(o, run)).toMatchObject({ retries: 1, minRetryDelayMs: 2, requestTimeoutMs: 3, streamAboveBytes: 8 * 1024 * 1024 });
  });
});
