// Forgetting a job's progress on a shared store: its files, and its tickers' ingested days and
// coverage. Refused while a live process works on the job: the README has every machine run the
// same command, and a clear then would delete what the others are recording under them.
import { InvalidOptionError } from '../../errors.js';
import type { Db } from './db.js';
import { deleteCoverage, deleteIngestedDays, deleteJob, deleteJobFiles, liveOnJob, type LiveProcess } from './sql/clear.js';
import { lockRegistry } from './sql/locks.js';
import { notifyChanged } from './sql/notify.js';

/**
 * Deletes the job's files (returning how many were done), its tickers' ingested days and
 * coverage, and its jobs row, in one transaction.
 * @throws {InvalidOptionError} naming `clearProgress`, when a live process (schema.ts: its session
 *   lock held, its heartbeat younger than `leaseMs`) is registered on the job; nothing is deleted.
 */
export async function clearJob(db: Db, job: string, tickers: readonly string[], interval: string, leaseMs: number): Promise<number> {
  // Retried: its deletes may meet another job's merge of a shared ticker (a deadlock).
  return db.transaction(
    async (c) => {
      // Exclusive, to the commit: a registration in flight (which holds it shared from its
      // process row to its session lock) is waited for, and is then seen live below; one that
      // starts now waits for this commit, and works on the cleared job.
      await lockRegistry(c);
      const live = await liveOnJob(c, job, leaseMs);
      if (live.length > 0) throw refusal(job, live);
      const done = await deleteJobFiles(c, job);
      await deleteIngestedDays(c, tickers, interval);
      await deleteCoverage(c, tickers, interval);
      await deleteJob(c, job);
      await notifyChanged(c);
      return done;
    },
    { retry: true },
  );
}

/** One line naming each live process: the CLI prints it with --clear-progress for `clearProgress`. */
function refusal(job: string, live: readonly LiveProcess[]): InvalidOptionError {
  const who = live.map((p) => `process ${p.id} (pid ${p.pid} on ${p.host})`).join(', ');
  const count = live.length === 1 ? '1 process is' : `${live.length} processes are`;
  return new InvalidOptionError(
    'clearProgress',
    true,
    `Cannot clear the progress of job ${job} (\`clearProgress\`): ${count} working on it: ${who}; clearing would delete the files, ingested days and coverage being recorded. Clear it once no process works on the job (see \`status\`), or leave \`clearProgress\` out to join in`,
  );
}
