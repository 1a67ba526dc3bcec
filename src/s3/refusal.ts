// What an S3 error answer means for this tool, read the same way for a listing (list.ts) and a
// GET (pool/worker.ts), from our S3HttpError or the SDK's errors (same `name`, `$metadata`,
// `$response.headers` and body fields).

interface S3ErrorLike {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  Endpoint?: string;
  Region?: string;
  ServerTime?: string;
}

/** What an error answer calls for. Anything else (5xx, 404, a network error) is not a refusal. */
export type Refusal =
  /** The bucket is at another endpoint or in another region: `line` says which. Final. */
  | { kind: 'elsewhere'; line: string }
  /** RequestTimeTooSkewed: correct the clock from `serverTime` and retry. */
  | { kind: 'clock-skew'; serverTime: string | undefined }
  /** ExpiredToken: temporary credentials whose session token ran out: fresh ones, then retry. */
  | { kind: 'expired-token' }
  /** InvalidAccessKeyId or SignatureDoesNotMatch: the key pair itself. Final. */
  | { kind: 'key-pair'; code: string }
  /** AccessDenied, or a 403 with no code we know: the plan does not include the dataset. Final. */
  | { kind: 'denied' };

/** Reads an error answer by its S3 `<Code>` (the error's `name`), then its status. */
export function refusalOf(error: unknown, bucket: string): Refusal | undefined {
  const elsewhere = wrongPlace(error, bucket);
  if (elsewhere !== undefined) return { kind: 'elsewhere', line: elsewhere };
  const e = (error ?? {}) as S3ErrorLike;
  const name = e.name ?? '';
  if (name === 'RequestTimeTooSkewed') return { kind: 'clock-skew', serverTime: e.ServerTime ?? e.$response?.headers?.['date'] };
  // S3 answers it with a 400, not a 403: recognised by its code.
  if (name === 'ExpiredToken') return { kind: 'expired-token' };
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') return { kind: 'key-pair', code: name };
  if (e.$metadata?.httpStatusCode === 403) return { kind: 'denied' };
  return undefined;
}

/** The line for a refused key pair (no key material in it). */
export function keyPairRefused(code: string): string {
  return `the S3 key pair was refused (${code}): the endpoint rejected the credentials; check MASSIVE_ACCESS_KEY_ID and MASSIVE_SECRET_ACCESS_KEY (the flat-files key pair, not the REST API key)`;
}

/** The line for an ExpiredToken that fresh credentials did not cure (or that none could be had for). */
export const TOKEN_EXPIRED =
  'the session token of the temporary S3 credentials has expired (ExpiredToken), and no fresh ones that the endpoint accepts were to be had (only credentials from the AWS default chain are refreshed)';

/** The line for a RequestTimeTooSkewed that correcting the clock did not cure. */
export function clockOff(corrected: boolean): string {
  return corrected
    ? "the S3 endpoint still says this machine's clock is off by more than 15 minutes (RequestTimeTooSkewed) after correcting it by the server's time: check the system clock"
    : "the S3 endpoint says this machine's clock is off by more than 15 minutes (RequestTimeTooSkewed), and its answer gave no time to correct it by: check the system clock";
}

/**
 * The one line for an answer that says the bucket lives elsewhere: a 301 PermanentRedirect (its
 * `<Endpoint>` and/or `x-amz-bucket-region` header), or an AuthorizationHeaderMalformed naming
 * the region it expects. Undefined for any other error. Retrying the same request cannot help.
 */
export function wrongPlace(error: unknown, bucket: string): string | undefined {
  const e = (error ?? {}) as S3ErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const redirect = status === 301 || name === 'PermanentRedirect';
  if (!redirect && !(name === 'AuthorizationHeaderMalformed' && e.Region)) return undefined;
  const region = e.$response?.headers?.['x-amz-bucket-region'] ?? e.Region;
  // S3 names the bucket's virtual host (flatfiles.s3.eu-west-1.amazonaws.com); this tool
  // addresses buckets by path, so the endpoint to use is the host without the bucket.
  const host = e.Endpoint?.startsWith(`${bucket}.`) ? e.Endpoint.slice(bucket.length + 1) : e.Endpoint;
  const where = [region && `region ${region} (--region ${region})`, host && `endpoint ${host} (--endpoint https://${host})`].filter(Boolean);
  const answer = status === undefined ? name : `${status} ${name}`;
  return where.length > 0
    ? `The S3 endpoint says bucket ${bucket} is elsewhere (${answer}): use ${where.join(' and ')}`
    : `The S3 endpoint says bucket ${bucket} is elsewhere (${answer}) without saying where: check --endpoint and --region`;
}
