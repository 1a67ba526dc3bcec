// The SQLite store, as the rest of the library opens it (store/open.ts): the store and its sync lock.
export { openSqliteStore, sqliteStoreExists, type SqliteStore } from './store.js';
export { lockCache } from './lock.js';
