// Placeholder until the PostgreSQL store lands (branch pg): the factory the run loads on demand.
import { ConfigurationError } from '../errors.js';
import type { Store } from './types.js';

export async function openPostgresStore(_url: string): Promise<Store> {
  throw new ConfigurationError('The PostgreSQL store is not available in this build');
}
