// Transaction control on a connection of the caller's (Db.transaction runs its own on pooled
// connections), and the savepoint a direct insert falls back to.
import { execute, type Queryable } from '../db.js';

export async function begin(c: Queryable): Promise<void> {
  await execute(c, { text: 'BEGIN' });
}

export async function commit(c: Queryable): Promise<void> {
  await execute(c, { text: 'COMMIT' });
}

/** The savepoint before an insert that may meet a key committed meanwhile (bulk.ts). */
export async function savepoint(c: Queryable): Promise<void> {
  await execute(c, { text: 'SAVEPOINT pmd_direct' });
}

export async function releaseSavepoint(c: Queryable): Promise<void> {
  await execute(c, { text: 'RELEASE SAVEPOINT pmd_direct' });
}

export async function rollbackToSavepoint(c: Queryable): Promise<void> {
  await execute(c, { text: 'ROLLBACK TO SAVEPOINT pmd_direct' });
}
