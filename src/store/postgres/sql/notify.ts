// The store's change notice: sent inside each transaction that changes what a reader sees (bars,
// files done, corporate actions, a clear), so PostgreSQL delivers it at commit, and never for a
// rollback. Several in one transaction are delivered once. serve's processes LISTEN (watch.ts).
import { execute, type Queryable } from '../db.js';

/** The channel every committing path notifies. */
export const CHANGED_CHANNEL = 'pmd_store_changed';

export async function notifyChanged(c: Queryable): Promise<void> {
  await execute(c, { name: 'pmd_notify_changed', text: `NOTIFY ${CHANGED_CHANNEL}` });
}
