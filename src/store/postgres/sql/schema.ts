// The statements that create or migrate a store (schema.ts holds what they apply), all inside
// its one transaction under the schema lock.
import { execute, type Queryable } from '../db.js';

/** The table of the store's own facts (its schema version). */
export async function createMeta(c: Queryable): Promise<void> {
  await execute(c, { text: 'CREATE TABLE IF NOT EXISTS pmd_meta (key text PRIMARY KEY, value text NOT NULL)' });
}

/** The store's schema version as written, if any. */
export async function readSchemaVersion(c: Queryable): Promise<string | undefined> {
  const [row] = await execute<{ value: string }>(c, { name: 'pmd_schema_version', text: 'SELECT value FROM pmd_meta WHERE key = $1', values: ['schema_version'] });
  return row?.value;
}

export async function writeSchemaVersion(c: Queryable, version: number): Promise<void> {
  await execute(c, {
    name: 'pmd_write_schema_version',
    text: 'INSERT INTO pmd_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    values: ['schema_version', String(version)],
  });
}

/** A migration step or a function's definition: several statements, so sent as they are (not prepared). */
export async function applyDdl(c: Queryable, ddl: string): Promise<void> {
  await execute(c, { text: ddl });
}

/** Whether the function of `signature` (`name(argument types)`) exists on the search path. */
export async function functionExists(c: Queryable, signature: string): Promise<boolean> {
  const [row] = await execute<{ found: boolean }>(c, {
    name: 'pmd_function_exists',
    text: 'SELECT to_regprocedure($1) IS NOT NULL AS found',
    values: [signature],
  });
  return row?.found === true;
}
