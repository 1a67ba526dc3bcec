// Changes committed by any process on the shared store, as they commit: a session of its own
// LISTENs on the channel every committing path notifies (sql/notify.ts). A notice sent while the
// session is down is lost, so a lost session counts as a change (the reader drops what it holds),
// and so does the reconnection, which is retried with backoff until it succeeds or is stopped.
import type pg from 'pg';
import { retryDelay, type Db } from './db.js';
import { CHANGED_CHANNEL } from './sql/notify.js';

/**
 * Listens until the function returned is called. The first connection's failure is thrown (a
 * store that cannot be reached); later losses are reconnected in the background.
 */
export async function watchNotifications(db: Db, onChange: () => void): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;

  const connect = async (): Promise<void> => {
    const c = await db.session();
    c.on('notification', (m) => {
      if (m.channel === CHANGED_CHANNEL) onChange();
    });
    const lost = (): void => {
      if (client !== c) return; // 'error' then 'end': once
      client = undefined;
      c.end().catch(() => {});
      onChange();
      reconnect();
    };
    c.on('error', lost);
    c.on('end', lost);
    await c.query(`LISTEN ${CHANGED_CHANNEL}`);
    if (stopped) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
  };

  const reconnect = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      connect().then(
        () => {
          attempt = 0;
          // Whatever committed while nobody listened.
          if (!stopped) onChange();
        },
        () => {
          attempt += 1;
          reconnect();
        },
      );
    }, retryDelay(attempt));
    timer.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };
}
