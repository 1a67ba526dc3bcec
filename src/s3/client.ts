import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../errors.js';
import type { Credentials } from '../options.js';
import { acquire, type RateLimit } from './rate-limit.js';

/** Everything a thread needs to build its own client: plain data, so it crosses `postMessage`. */
export interface S3Config {
  endpoint: string;
  bucket: string;
  credentials: Credentials;
}

/**
 * Builds a client for Massive's S3-compatible endpoint: path-style, us-east-1, and checksums
 * only when required (the SDK's default flexible checksums corrupt uploads to, and fail
 * downloads from, servers that are not AWS).
 */
export function createS3Client(
  config: S3Config,
  opts: { rateLimit?: RateLimit | undefined } = {},
): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 50 };
  const client = new S3Client({
    endpoint: config.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: config.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK builds its Node HTTP handler from these options (keep-alive sockets, timeouts).
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new Agent(agentOptions),
      connectionTimeout: 10_000,
      requestTimeout: 60_000,
    },
  });
  const { rateLimit } = opts;
  if (rateLimit) {
    // Every HTTP request, SDK retries and listings included, waits for a slot of the shared cap.
    client.middlewareStack.add(
      (next) => async (args) => {
        await acquire(rateLimit);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'preloadRateLimit' },
    );
  }
  return client;
}

/**
 * Resolves credentials once, in the main thread: explicit ones, else the AWS SDK's default
 * chain. Workers get the resolved pair, so every thread signs with the same identity.
 */
export async function resolveCredentials(explicit: Credentials | undefined, endpoint: string): Promise<Credentials> {
  if (explicit) return explicit;
  try {
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
