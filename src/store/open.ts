import { lockCache, openSqliteStore, sqliteStoreExists } from './sqlite/index.js';
import type { Store, StoreLocation } from './types.js';

export type { StoreLocation };

/**
 * Opens the store a run or a read uses: PostgreSQL when `store` is a postgres:// URL, else the
 * SQLite file in the cache directory. The PostgreSQL client is loaded only when one is asked for.
 */
export async function openStore(o: StoreLocation): Promise<Store> {
  if (o.store === undefined) return openSqliteStore(o.cacheDir);
  const { openPostgresStore } = await import('./postgres/index.js');
  return openPostgresStore(o.store, o.storeTimeoutMs === undefined ? {} : { storeTimeoutMs: o.storeTimeoutMs });
}

/** Opens the store for one call and closes it again, whatever happens. */
export async function withStore<T>(o: StoreLocation, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(o);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Takes the store's sync lock; call the function returned to release it. The SQLite cache allows
 * one sync at a time: the lock is a file lock the kernel drops with the process, however it ends
 * (sqlite/lock.ts), and another sync fails at once with BusyError while it is held. A shared
 * store needs no lock: its syncs register on the same jobs and share the files like any
 * processes (each file claimed by one), and what they must not do at once is already serialised
 * by the store's own transaction-scoped advisory locks (schema, corporate actions, --all merges
 * of one day, the registry against a clear of progress, which a sync never does).
 */
export function lockForSync(o: StoreLocation): () => void {
  return o.store === undefined ? lockCache(o.cacheDir) : () => {};
}

/**
 * As {@link withStore} for a call that must create nothing (a dry run): `fn` gets undefined when
 * the SQLite file does not exist yet, rather than a new empty store.
 */
export async function withExistingStore<T>(o: StoreLocation, fn: (store: Store | undefined) => Promise<T>): Promise<T> {
  if (o.store === undefined && !sqliteStoreExists(o.cacheDir)) return fn(undefined);
  return withStore(o, fn);
}
