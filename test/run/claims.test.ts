import { describe, expect, it } from 'vitest';
import { Claims, type ClaimsParts } from '../../src/run/claims.js';
import type { JobSpec, WorkItem } from '../../src/store/types.js';
import { dayFile, deferred, FakeQueue, settle, type Deferred } from '../fixtures/run-fakes.js';

const spec: JobSpec = { job: 'j', dataset: 'ds', interval: '1d', tickers: ['TSLA'] };
const days = (n: number): string[] => Array.from({ length: n }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`);

/** Claims over a FakeQueue whose downloads each wait for the test to end them. */
function setup(opts: { limit?: number; processId?: number; parts?: Partial<ClaimsParts> } = {}) {
  const queue = new FakeQueue({ processId: opts.processId });
  const controller = new AbortController();
  const limit = { current: opts.limit ?? 2 };
  const downloads = new Map<string, Deferred<void>>();
  const errors: unknown[] = [];
  let settled = 0;
  const claims = new Claims({
    queue,
    limit,
    signal: controller.signal,
    dispatch: (item: WorkItem) => {
      const d = deferred();
      downloads.set(item.file.day, d);
      return d.promise;
    },
    settled: () => (settled += 1),
    onError: (error) => {
      errors.push(error);
      controller.abort();
      claims.pump();
    },
    pollMs: 20,
    ...opts.parts,
  });
  const offer = async (n: number): Promise<void> => {
    await queue.offer(spec, days(n).map((d) => dayFile(d)));
    claims.offered();
    await settle();
  };
  /** Ends the download of `day` and lets the machine react. */
  const finish = async (day: string): Promise<void> => {
    downloads.get(day)?.resolve();
    downloads.delete(day);
    await settle();
  };
  return { queue, controller, limit, downloads, errors, claims, offer, finish, settledCount: () => settled };
}

const isSettled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await settle();
  return done;
};

describe('Claims', () => {
  it('keeps at most the limit in flight and claims only the room left', async () => {
    const t = setup({ limit: 2 });
    await t.offer(5);
    expect([...t.downloads.keys()]).toEqual(['2026-01-01', '2026-01-02']);
    expect(t.claims.running).toBe(2);
    expect(t.queue.pending).toHaveLength(3); // nothing claimed ahead of what can start
    await t.finish('2026-01-01');
    expect([...t.downloads.keys()]).toEqual(['2026-01-02', '2026-01-03']);
    expect(t.settledCount()).toBe(1);
    t.limit.current = 4; // the limit grows: read at the next pump
    await t.finish('2026-01-02');
    expect([...t.downloads.keys()]).toEqual(['2026-01-03', '2026-01-04', '2026-01-05']);
  });

  it('after an empty claim, asks again only when files are offered or one ends', async () => {
    const t = setup({ limit: 4 });
    t.claims.offered(); // nothing offered yet: the claim comes back empty
    await settle();
    expect(t.queue.log.filter((c) => c === 'claim')).toHaveLength(1);
    t.claims.pump();
    await settle();
    expect(t.queue.log.filter((c) => c === 'claim')).toHaveLength(1);
    await t.offer(1);
    // One that takes the file, one for the room left that finds nothing more.
    expect(t.queue.log.filter((c) => c === 'claim')).toHaveLength(3);
    expect(t.claims.running).toBe(1);
  });

  it('is idle only once the listing is done, nothing runs and the queue has nothing left', async () => {
    const t = setup({ limit: 2 });
    const idle = t.claims.idle();
    await t.offer(2);
    await t.finish('2026-01-01');
    await t.finish('2026-01-02');
    expect(await isSettled(idle)).toBe(false); // the listing may still offer files
    expect(t.queue.log).not.toContain('remaining');
    t.claims.listingDone();
    t.claims.pump();
    expect(await isSettled(idle)).toBe(true);
    expect(t.queue.log.at(-1)).toBe('remaining');
  });

  it('polls while other processes hold files, and claims at once when the queue says some are pending', async () => {
    const t = setup({ limit: 2, processId: 1 });
    const answers = [
      { pending: 0, claimedByOthers: 1 },
      { pending: 1, claimedByOthers: 0 },
      { pending: 0, claimedByOthers: 0 },
    ];
    t.queue.hooks.remaining = () => Promise.resolve(answers.shift() ?? { pending: 0, claimedByOthers: 0 });
    t.claims.listingDone();
    const idle = t.claims.idle();
    await settle();
    expect(t.queue.log).toEqual(['remaining']);
    // Another process died: its file is pending again by the time the poll comes round.
    await t.queue.offer(spec, [dayFile('2026-01-09')]);
    await new Promise((r) => setTimeout(r, 40));
    // The poll took it (and found nothing more for the slot left).
    expect(t.queue.log).toEqual(['remaining', 'offer', 'claim', 'claim']);
    expect([...t.downloads.keys()]).toEqual(['2026-01-09']);
    await t.finish('2026-01-09');
    // remaining() now says 1 pending (another process gave it back): claimed again with no poll delay.
    await new Promise((r) => setTimeout(r, 5));
    expect(await isSettled(idle)).toBe(true);
    expect(t.queue.log.slice(4)).toEqual(['claim', 'remaining', 'claim', 'remaining']);
  });

  it('on a shared store, claims in batches of a quarter of the limit while files run', async () => {
    const t = setup({ limit: 8, processId: 1 });
    await t.offer(10);
    expect(t.claims.running).toBe(8);
    expect(t.queue.claimSizes).toEqual([8]);
    await t.finish('2026-01-01'); // one slot free: below a batch of 8/4, no claim
    expect(t.queue.claimSizes).toEqual([8]);
    await t.finish('2026-01-02'); // two free: claimed together
    expect(t.queue.claimSizes).toEqual([8, 2]);
    expect(t.claims.running).toBe(8);
  });

  it('after an abort starts and claims nothing, is idle once what runs has settled, and hands back the buffer', async () => {
    const t = setup({ limit: 1, processId: 1 });
    const claim = deferred<WorkItem[]>();
    await t.offer(3);
    t.queue.hooks.claim = () => claim.promise;
    await t.finish('2026-01-01'); // the next claim is now in flight
    const idle = t.claims.idle();
    t.controller.abort();
    claim.resolve(t.queue.take(1));
    await settle();
    expect(t.downloads.size).toBe(0);
    expect(await isSettled(idle)).toBe(true);
    expect(t.claims.stop().map((i) => i.file.day)).toEqual(['2026-01-02']);
    expect(t.claims.stop()).toEqual([]);
  });

  it('waits for running downloads after an abort', async () => {
    const t = setup({ limit: 2 });
    await t.offer(2);
    const idle = t.claims.idle();
    t.controller.abort();
    t.claims.pump();
    expect(await isSettled(idle)).toBe(false);
    await t.finish('2026-01-01');
    expect(await isSettled(idle)).toBe(false);
    await t.finish('2026-01-02');
    expect(await isSettled(idle)).toBe(true);
  });

  it('a failed claim, a failed remaining() and a rejected dispatch reach onError', async () => {
    const claimFails = setup();
    claimFails.queue.hooks.claim = () => Promise.reject(new Error('claim lost'));
    const idle = claimFails.claims.idle();
    await claimFails.offer(1);
    expect(claimFails.errors).toEqual([new Error('claim lost')]);
    expect(await isSettled(idle)).toBe(true);

    const remainingFails = setup();
    remainingFails.queue.hooks.remaining = () => Promise.reject(new Error('store gone'));
    remainingFails.claims.listingDone();
    expect(await isSettled(remainingFails.claims.idle())).toBe(true);
    expect(remainingFails.errors).toEqual([new Error('store gone')]);

    const dispatchFails = setup({ limit: 1 });
    await dispatchFails.offer(2);
    dispatchFails.downloads.get('2026-01-01')?.reject(new Error('bug'));
    await settle();
    expect(dispatchFails.errors).toEqual([new Error('bug')]);
    // Reported before the next pump: the run was stopped, so the second file never started.
    expect([...dispatchFails.downloads.keys()]).toEqual(['2026-01-01']);
    expect(dispatchFails.settledCount()).toBe(1);
  });
});
