// The files of a run and the claims on them: offered from a listing, claimed in fair shares,
// failed, released, and what remains. A claim lives as long as its owner does (the liveness
// function, schema.ts).
import type { DayFile } from '../../../types.js';
import { execute, type Queryable } from '../db.js';
import type { FileRow } from '../rows.js';

/**
 * Adds `files` to `job`, each once. A failed file, or a done one whose ETag changed (republished),
 * is to do again; a done one with the same ETag stays done. A claimed one stays its owner's, with
 * the newer listing (a process that takes it over fetches what is published now).
 */
export async function offerFiles(db: Queryable, job: string, files: readonly DayFile[]): Promise<void> {
  await execute(db, {
    name: 'pmd_offer',
    text: `INSERT INTO job_files AS f (job, key, day, size, etag, last_modified, state)
         SELECT $1, u.key, u.day, u.size, u.etag, u.last_modified, 'pending'
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS u(key, day, size, etag, last_modified)
         ON CONFLICT (job, key) DO UPDATE SET
           day = excluded.day, size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
           state = CASE WHEN f.state = 'claimed' THEN 'claimed' ELSE 'pending' END,
           owner = CASE WHEN f.state = 'claimed' THEN f.owner END,
           claimed_at = CASE WHEN f.state = 'claimed' THEN f.claimed_at END,
           error_code = NULL, error_message = NULL
         WHERE f.state <> 'done' OR f.etag <> excluded.etag`,
    values: [
      job,
      files.map((f) => f.key),
      files.map((f) => f.day),
      files.map((f) => f.size),
      files.map((f) => f.etag),
      files.map((f) => f.lastModified ?? null),
    ],
  });
}

/** Who claims, how many at most, and what it holds already (`job\nkey`). */
export interface ClaimRequest {
  jobs: readonly string[];
  leaseMs: number;
  owner: number;
  n: number;
  held: readonly string[];
}

/**
 * Claims up to `n` files for `owner`, oldest day first. A fair share: no more than the files left
 * over the live processes on these jobs, less what the owner holds, so that a job of a few large
 * files spreads over every process instead of going to whoever claims first. SKIP LOCKED: two
 * processes claiming at once pick disjoint rows instead of waiting. A file claimed under the
 * owner's id that it does not hold is its to take again: a claim whose answer was lost with its
 * connection, or one taken back from a former id.
 */
export async function claimFiles(db: Queryable, r: ClaimRequest): Promise<FileRow[]> {
  return execute<FileRow>(db, {
    name: 'pmd_claim',
    text: `WITH live AS (SELECT id FROM pmd_live_processes($2::int)),
         share AS (
           SELECT LEAST($4::int, GREATEST(0,
             CEIL(COUNT(*)::numeric
                  / GREATEST(1, (SELECT COUNT(*) FROM processes p WHERE p.jobs && $1::text[] AND p.id IN (SELECT id FROM live))))::int
             - COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner = $3 AND (f.job || E'\n' || f.key) = ANY($5::text[]))::int)) AS n
           FROM job_files f WHERE f.job = ANY($1::text[]) AND f.state IN ('pending', 'claimed')
         ),
         picked AS (
           SELECT f.job, f.key FROM job_files f
           WHERE f.job = ANY($1::text[])
             AND (f.state = 'pending'
               OR (f.state = 'claimed' AND f.owner IS DISTINCT FROM $3 AND NOT EXISTS (SELECT 1 FROM live WHERE live.id = f.owner))
               OR (f.state = 'claimed' AND f.owner = $3 AND NOT (f.job || E'\n' || f.key) = ANY($5::text[])))
           ORDER BY f.day, f.key
           LIMIT (SELECT n FROM share)
           FOR UPDATE OF f SKIP LOCKED
         )
         UPDATE job_files f SET state = 'claimed', owner = $3, claimed_at = now()
         FROM picked WHERE f.job = picked.job AND f.key = picked.key
         RETURNING f.job, f.key, f.day, f.size, f.etag, f.last_modified`,
    values: [[...r.jobs], r.leaseMs, r.owner, r.n, [...r.held]],
  });
}

/** Marks a file failed, if `owner` still holds it: a file another process took over stays theirs. */
export async function failClaim(db: Queryable, job: string, key: string, owner: number, failure: { code: string; message: string }): Promise<void> {
  await execute(db, {
    name: 'pmd_fail',
    text: `UPDATE job_files SET state = 'failed', owner = NULL, claimed_at = NULL, error_code = $4, error_message = $5
         WHERE job = $1 AND key = $2 AND state = 'claimed' AND owner = $3`,
    values: [job, key, owner, failure.code, failure.message],
  });
}

/** Gives back `owner`'s claims on `files` (`undefined`: all of them) for anyone to take. */
export async function releaseClaims(db: Queryable, owner: number, files: readonly { job: string; key: string }[] | undefined): Promise<void> {
  await execute(db, {
    name: 'pmd_release',
    text: `UPDATE job_files f SET state = 'pending', owner = NULL, claimed_at = NULL
       WHERE f.state = 'claimed' AND f.owner = $1
         AND ($2::text[] IS NULL OR (f.job, f.key) IN (SELECT * FROM unnest($2::text[], $3::text[])))`,
    values: [owner, files?.map((f) => f.job) ?? null, files?.map((f) => f.key) ?? null],
  });
}

/** The files of `jobs` left for anyone (`pending`, a dead owner's included) and those live others hold. */
export async function remaining(db: Queryable, jobs: readonly string[], leaseMs: number, owner: number): Promise<{ pending: number; others: number } | undefined> {
  const [row] = await execute<{ pending: number; others: number }>(db, {
    name: 'pmd_remaining',
    text: `WITH live AS (SELECT id FROM pmd_live_processes($2::int))
         SELECT COUNT(*) FILTER (WHERE f.state = 'pending'
                   OR (f.state = 'claimed' AND f.owner IS DISTINCT FROM $3 AND f.owner NOT IN (SELECT id FROM live))) AS pending,
                COUNT(*) FILTER (WHERE f.state = 'claimed' AND f.owner IS DISTINCT FROM $3 AND f.owner IN (SELECT id FROM live)) AS others
         FROM job_files f WHERE f.job = ANY($1::text[])`,
    values: [[...jobs], leaseMs, owner],
  });
  return row;
}
