import { openSqliteStore, sqliteStoreExists } from './sqlite.js';
import type { Store } from './types.js';

/** Where the store is: a PostgreSQL URL, else the SQLite file in the cache directory. */
export interface StoreLocation {
  store: string | undefined;
  cacheDir: string;
  /** How long a PostgreSQL store that goes away once reached is waited for (ms). @default 60000 */
  storeTimeoutMs?: number;
}

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
 * As {@link withStore} for a call that must create nothing (a dry run): `fn` gets undefined when
 * the SQLite file does not exist yet, rather than a new empty store.
 */
export async function withExistingStore<T>(o: StoreLocation, fn: (store: Store | undefined) => Promise<T>): Promise<T> {
  if (o.store === undefined && !sqliteStoreExists(o.cacheDir)) return fn(undefined);
  return withStore(o, fn);
}
