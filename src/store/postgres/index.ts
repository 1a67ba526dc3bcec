// The PostgreSQL store, as the rest of the library (and its tests) open it.
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from './store.js';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
