import { ConfigurationError } from '../errors.js';
import type { Credentials } from '../types.js';
import { ownCredentials, type S3Credentials } from './credentials.js';

/** The SigV4 region when none is given: Massive's, and what most S3-compatible servers accept. */
export const DEFAULT_REGION = 'us-east-1';

/** Everything a thread needs to sign its own requests: plain data, so it crosses `postMessage`. */
export interface S3Config {
  endpoint: string;
  bucket: string;
  /** The SigV4 region every request is signed for. @default 'us-east-1' */
  region?: string | undefined;
  /** Temporary ones from the default chain carry their renewal: every thread signs with the newest set. */
  credentials: S3Credentials;
}

/**
 * Resolves credentials once, in the main thread: explicit ones (or the MASSIVE_* variables),
 * else the AWS SDK's default chain (`@aws-sdk/credential-providers`, loaded only then; the
 * listing and the downloads sign their own requests). Temporary credentials from the chain (with
 * an expiration) come back with their renewal: this thread keeps the provider and refreshes them
 * for every thread before they expire (credentials.ts). `endpoint` is named in the error.
 */
export async function resolveCredentials(explicit: Credentials | undefined, endpoint: string): Promise<S3Credentials> {
  if (explicit) return explicit;
  try {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    const chain = fromNodeProviderChain();
    return ownCredentials(chain, await chain());
  } catch (cause) {
    throw new ConfigurationError(
      `No S3 credentials: set MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY (your flat-files key pair for ${endpoint}, not the REST API key), or configure the AWS default credential chain`,
      { cause },
    );
  }
}
