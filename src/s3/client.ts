import { ConfigurationError } from '../errors.js';
import type { Credentials } from '../types.js';

/** The SigV4 region when none is given: Massive's, and what most S3-compatible servers accept. */
export const DEFAULT_REGION = 'us-east-1';

/** Everything a thread needs to sign its own requests: plain data, so it crosses `postMessage`. */
export interface S3Config {
  endpoint: string;
  bucket: string;
  /** The SigV4 region every request is signed for. @default 'us-east-1' */
  region?: string | undefined;
  credentials: Credentials;
}

/**
 * Resolves credentials once, in the main thread: explicit ones (or the MASSIVE_* variables),
 * else the AWS SDK's default chain, loaded only then (the listing and the downloads sign their own
 * requests: the SDK costs ~170 ms of CPU and ~24 MB at start-up). Workers get the resolved pair,
 * so every thread signs with the same identity.
 */
export async function resolveCredentials(explicit: Credentials | undefined, endpoint: string): Promise<Credentials> {
  if (explicit) return explicit;
  try {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const probe = new S3Client({ region: 'us-east-1', endpoint });
    const c = await probe.config.credentials();
    probe.destroy();
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    };
  } catch (cause) {
    throw new ConfigurationError(
      'No S3 credentials: set MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY (your flat-files key pair, not the REST API key)',
      { cause },
    );
  }
}
