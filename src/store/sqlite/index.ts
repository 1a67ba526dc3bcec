// The SQLite store, as the rest of the library (and its tests) open it.
export { openSqliteStore, type SqliteStore } from './store.js';
export { lockCache } from './lock.js';
