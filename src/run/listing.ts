// The listing side of a run: each job's window listed from the bucket (or, --offline, from the
// raw mirror), each listed file sorted into skipped (done before with the same ETag) or needed
// (never ingested, or republished with a new ETag), and the needed ones handed on page by page,
// so downloads start before the listing ends.
import { listRaw } from '../raw/mirror.js';
import type { JobPlan } from '../plan.js';
import type { ListObjects } from '../s3/list-objects.js';
import { findFirstDay, listDayFiles } from '../s3/list.js';
import { allScope } from '../store/scope.js';
import type { DoneKey, JobSpec, Store, WorkItem } from '../store/types.js';
import type { DayFile } from '../types.js';
import type { Jobs } from './jobs.js';
import type { RunStats } from './stats.js';

/** Where an offline listing starts when the plan has no start (`period: max`). */
const OFFLINE_EARLIEST = '2000-01-01';

export interface ListingParts {
  jobs: Jobs;
  store: Pick<Store, 'doneKeys' | 'ingestedDays'>;
  /** `listed`, `skipped` and `republished` are counted here; offline notes added. */
  stats: RunStats;
  /**
   * Hears each listed page of a job, after it is counted: the files that still need downloading
   * (possibly none), and that page's counts. The next page of that job waits for it.
   */
  schedule: (spec: JobSpec, needed: DayFile[], page: PageCounts) => Promise<void>;
}

/** One listed page of a job: its files, and those already done (skipped). */
export interface PageCounts {
  listed: number;
  skipped: number;
}

export class Listing {
  /** The first day each job's listing started from (found from the bucket for `period: max`). */
  readonly starts = new Map<JobPlan, string>();
  /**
   * The last day each job's listing showed a file for, or the window's end once it showed a file
   * after the window: coverage of the window's tail ends there.
   */
  readonly lastListed = new Map<JobPlan, string>();
  /** How many files each job's window has (as listed). */
  readonly listedFiles = new Map<JobPlan, number>();
  /** Files done before that the provider has since replaced (`job\nkey`): their store compares old bars with new. */
  readonly #republished = new Set<string>();
  readonly #parts: ListingParts;

  constructor(parts: ListingParts) {
    this.#parts = parts;
  }

  /** Whether this run's listing found the item's file republished (done before with another ETag). */
  republished(item: WorkItem): boolean {
    return this.#republished.has(`${item.job}\n${item.file.key}`);
  }

  /** Lists every job's window from the bucket, the jobs at once; stops early once `signal` aborts. */
  async fromBucket(client: ListObjects, bucket: string, signal: AbortSignal): Promise<void> {
    await Promise.all(this.#parts.jobs.plans.map((plan) => this.#listPlan(client, bucket, signal, plan)));
  }

  /** --offline: the raw mirror stands in for the listing. */
  async fromMirror(rawDir: string): Promise<void> {
    await Promise.all(this.#parts.jobs.plans.map((plan) => this.#listMirror(rawDir, plan)));
  }

  async #listPlan(client: ListObjects, bucket: string, signal: AbortSignal, plan: JobPlan): Promise<void> {
    const start = plan.start ?? (await findFirstDay(client, { dataset: plan.dataset, bucket, signal }));
    if (start === undefined) return;
    this.starts.set(plan, start);
    const schedule = await this.#scheduler(plan, start);
    // A file after the window: the window's last day is known, whether it had a file or not (a
    // holiday), so coverage may reach it (coverage.ts).
    const onLaterFile = (): void => void this.lastListed.set(plan, plan.end);
    for await (const files of listDayFiles(client, { dataset: plan.dataset, bucket, start, end: plan.end, signal, onLaterFile })) {
      if (signal.aborted) return;
      await schedule(files);
    }
  }

  async #listMirror(rawDir: string, plan: JobPlan): Promise<void> {
    const start = plan.start ?? OFFLINE_EARLIEST;
    this.starts.set(plan, start);
    const { files, emptyMonths, unreadable } = await listRaw(rawDir, plan.dataset, start, plan.end);
    if (unreadable.length > 0) {
      const shown = unreadable.length > 3 ? `${unreadable.slice(0, 3).join(', ')}, ...` : unreadable.join(', ');
      this.#parts.stats.notes.push(
        `offline: ${unreadable.length} mirrored file(s) of ${plan.dataset} have a torn or unreadable meta file and were left out (${shown}); an online run checks them again`,
      );
    }
    if (emptyMonths.length > 0) {
      const shown = emptyMonths.length > 6 ? `${emptyMonths.slice(0, 6).join(', ')}, ...` : emptyMonths.join(', ');
      this.#parts.stats.notes.push(
        `offline: ${emptyMonths.length} month(s) of ${plan.dataset} in the window have no mirrored files (${shown}); run without --offline to fetch them`,
      );
    }
    await (await this.#scheduler(plan, start))(files);
  }

  /** Sorts listed files into skipped (done before, same ETag) and needed, and hands on the needed. */
  async #scheduler(plan: JobPlan, start: string): Promise<(files: DayFile[]) => Promise<void>> {
    const { store, stats, jobs, schedule } = this.#parts;
    const done = await store.doneKeys(plan.job);
    const ingested = await Promise.all(plan.symbols.map((s) => store.ingestedDays(s.ticker, plan.interval, start, plan.end)));
    // Days an `--all` run stored hold every ticker of the dataset: a symbol job need not fetch them.
    const whole = plan.all ? new Map<string, string>() : await store.ingestedDays(allScope(plan.dataset), plan.interval, start, plan.end);
    const { spec } = jobs.get(plan.job);
    return async (files) => {
      const c = stats.counts;
      const needed: DayFile[] = [];
      const page: PageCounts = { listed: files.length, skipped: 0 };
      this.listedFiles.set(plan, (this.listedFiles.get(plan) ?? 0) + files.length);
      for (const file of files) {
        c.listed += 1;
        if (file.day > (this.lastListed.get(plan) ?? '')) this.lastListed.set(plan, file.day);
        const etags = recordedEtags(file, done, ingested, whole);
        if (etags.length > 0 && etags.every((e) => e === file.etag)) {
          c.skipped += 1;
          page.skipped += 1;
          continue;
        }
        // The provider replaced a file it had published: fetch it again and replace that day.
        if (etags.length > 0) {
          c.republished += 1;
          this.#republished.add(`${spec.job}\n${file.key}`);
        }
        needed.push(file);
      }
      await schedule(spec, needed, page);
    };
  }
}

/**
 * The ETags a listed file was ingested from before: this job's record of the key, else, when
 * every symbol of the job already has that day (from other jobs), theirs. Empty: never ingested.
 */
export function recordedEtags(
  file: DayFile,
  done: ReadonlyMap<string, DoneKey>,
  ingested: ReadonlyArray<ReadonlyMap<string, string>>,
  whole: ReadonlyMap<string, string> = new Map(),
): string[] {
  const own = done.get(file.key);
  if (own) return [own.etag];
  const all = whole.get(file.day);
  if (all !== undefined) return [all];
  const etags = ingested.map((days) => days.get(file.day));
  return etags.every((e): e is string => e !== undefined) ? etags : [];
}
