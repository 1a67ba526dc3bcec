// The advisory locks every process agrees on, and the statements that take them. Two-int4 keys:
// the first is LOCK_NAMESPACE (or DAY_LOCK_NAMESPACE), the second a process id (positive) or one
// of the fixed keys below (zero or negative).
import { execute, type Queryable } from '../db.js';

/** First key of every advisory lock this library takes: 'pmd' in ASCII, unlikely to collide with another application's. */
export const LOCK_NAMESPACE = 0x706d64;

/** Second key of the lock under which a store's schema is created or migrated (schema.ts). */
const SCHEMA_LOCK = 0;

/** Second key of the lock that serialises replacements of corporate actions (actions.ts). */
const ACTIONS_LOCK = -1;

/**
 * Second key of the lock between registering a process and clearing a job's progress: a
 * registration holds it shared until its process row and session lock are committed, a clear
 * exclusive from its check of the live processes to its commit (clear.ts).
 */
export const REGISTRY_LOCK = -2;

/** Second key of the session lock under which one process at a time builds the index by ticker (ticker-index.ts). */
export const INDEX_BUILD_LOCK = -3;

/**
 * First key of the transaction lock an --all merge takes on its (interval, day) (second key: its
 * hash): a namespace of its own, so that a hash never meets a process's lock.
 */
export const DAY_LOCK_NAMESPACE = 0x706d65;

/** Waits for, then holds to the end of the transaction, the lock of schema creation. */
export async function lockSchema(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_lock_schema', text: 'SELECT pg_advisory_xact_lock($1, $2)', values: [LOCK_NAMESPACE, SCHEMA_LOCK] });
}

/** The lock of replacing corporate actions, to the end of the transaction. */
export async function lockActions(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_lock_actions', text: 'SELECT pg_advisory_xact_lock($1, $2)', values: [LOCK_NAMESPACE, ACTIONS_LOCK] });
}

/** The registry lock, exclusive, to the end of the transaction: a clear of a job's progress. */
export async function lockRegistry(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_lock_registry', text: 'SELECT pg_advisory_xact_lock($1, $2)', values: [LOCK_NAMESPACE, REGISTRY_LOCK] });
}

/** The registry lock, shared, to the end of the transaction: a process registering. */
export async function lockRegistryShared(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_lock_registry_shared', text: 'SELECT pg_advisory_xact_lock_shared($1, $2)', values: [LOCK_NAMESPACE, REGISTRY_LOCK] });
}

/**
 * Process `id`'s own lock, held by its session until the session ends (a lock taken in a
 * transaction outlives its commit): what the liveness function looks for (schema.ts).
 */
export async function lockProcess(session: Queryable, id: number): Promise<void> {
  await execute(session, { name: 'pmd_lock_process', text: 'SELECT pg_advisory_lock($1, $2)', values: [LOCK_NAMESPACE, id] });
}

/** The lock of an --all merge on its (interval, day), to the end of the transaction (bulk.ts). */
export async function lockDay(c: Queryable, interval: string, day: string): Promise<void> {
  await execute(c, { name: 'pmd_all_lock', text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))', values: [DAY_LOCK_NAMESPACE, `${interval}\n${day}`] });
}
