// What an S3 error answer means for this tool, read the same way for a listing (list.ts) and a
// GET (pool/worker.ts), from our S3HttpError or the SDK's errors (same `name`, `$metadata`,
// `$response.headers` and body fields).

interface S3ErrorLike {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  Endpoint?: string;
  Region?: string;
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
