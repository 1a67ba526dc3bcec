// Forgetting a job's progress on a shared store: its files, and its tickers' ingested days and
// coverage. Refused while a live process works on the job: the README has every machine run the
// same command, and a clear then would delete what the others are recording under them.
import { InvalidOptionError } from '../../errors.js';
import type { Db } from './db.js';
import { LIVE_SQL } from './live.js';
import { LOCK_NAMESPACE, REGISTRY_LOCK } from './schema.js';

interface LiveProcess {
  id: number;
  host: string;
  pid: number;
}

/**
 * Deletes the job's files (returning how many were done), its tickers' ingested days and
 * coverage, and its jobs row, in one transaction.
 * @throws {InvalidOptionError} naming `clearProgress`, when a live process (live.ts: its session
 *   lock held, its heartbeat younger than `leaseMs`) is registered on the job; nothing is deleted.
 */
export async function clearJob(db: Db, job: string, tickers: readonly string[], interval: string, leaseMs: number): Promise<number> {
  // Retried: its deletes may meet another job's merge of a shared ticker (a deadlock).
  return db.transaction(
    async (c) => {
      // Exclusive, to the commit: a registration in flight (which holds it shared from its
      // process row to its session lock) is waited for, and is then seen live below; one that
      // starts now waits for this commit, and works on the cleared job.
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, REGISTRY_LOCK]);
      const live = (
        await c.query<LiveProcess>(`SELECT p.id, p.host, p.pid FROM processes p WHERE $1 = ANY(p.jobs) AND p.id IN (${LIVE_SQL}) ORDER BY p.id`, [
          job,
          LOCK_NAMESPACE,
          leaseMs,
        ])
      ).rows;
      if (live.length > 0) throw refusal(job, live);
      const [forgotten] = (
        await c.query<{ done: number }>(
          `WITH gone AS (DELETE FROM job_files WHERE job = $1 RETURNING state)
           SELECT COUNT(*) FILTER (WHERE state = 'done') AS done FROM gone`,
          [job],
        )
      ).rows;
      await c.query('DELETE FROM ingested_days WHERE symbol = ANY($1::text[]) AND interval = $2', [[...tickers], interval]);
      await c.query('DELETE FROM coverage WHERE symbol = ANY($1::text[]) AND interval = $2', [[...tickers], interval]);
      await c.query('DELETE FROM jobs WHERE job = $1', [job]);
      return forgotten?.done ?? 0;
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
