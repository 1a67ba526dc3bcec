/**
 * A fast read-only S3-compatible server for the benchmark: every object of an s3rver-layout store
 * held in memory, served by plain node:http. s3rver does disk I/O and Koa routing per request
 * (a few hundred GETs/s here), so against it a benchmark would measure the server, not the client.
 *
 * Serves ListObjectsV2 and GetObject/HeadObject (path-style, signatures ignored), with an injected
 * per-request latency and an optional bandwidth cap shared by all responses (a link of that speed),
 * and the control API of test/fixtures/s3-server-child.ts (stats, reset, latency) plus bandwidth and
 * the server's own CPU time in the stats.
 *
 * Run as a child process: node --import tsx bench/lib/fast-s3.ts --dir <store> [--dir <store>...] [--latency-ms N]
 * (the buckets of several stores are merged). Prints `LISTENING <port>` once ready.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchStats } from './server.js';

const { values: args } = parseArgs({ options: { dir: { type: 'string', multiple: true }, 'latency-ms': { type: 'string' } } });
if (!args.dir?.length) {
  process.stderr.write('usage: fast-s3.ts --dir <store> [--dir <store>...] [--latency-ms N]\n');
  process.exit(2);
}

const OBJECT_SUFFIX = '._S3rver_object';
const MAX_KEYS = 1000;

interface StoredObject {
  key: string;
  body: Buffer;
  /** Quoted hex MD5, as S3 sends it. */
  etag: string;
  lastModified: Date;
}

interface Bucket {
  /** Sorted by key (UTF-16 order equals S3's byte order for the ASCII keys of this store). */
  keys: string[];
  objects: Map<string, StoredObject>;
}

/** Reads `<dir>/<bucket>/<key>._S3rver_object` (+ `.md5`) of every store once, into memory. */
function loadStores(dirs: string[]): Map<string, Bucket> {
  const buckets = new Map<string, Bucket>();
  for (const dir of dirs) {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      if (!name.isDirectory()) continue;
      const objects = buckets.get(name.name)?.objects ?? new Map<string, StoredObject>();
      loadBucket(path.join(dir, name.name), objects);
      buckets.set(name.name, { keys: [...objects.keys()].sort(), objects });
    }
  }
  return buckets;
}

function loadBucket(root: string, objects: Map<string, StoredObject>): void {
  for (const rel of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith(OBJECT_SUFFIX)) continue;
    const file = path.join(root, rel);
    const key = rel.slice(0, -OBJECT_SUFFIX.length).split(path.sep).join('/');
    const md5 = readFileSync(`${file}.md5`, 'utf8').trim();
    objects.set(key, { key, body: readFileSync(file), etag: `"${md5}"`, lastModified: statSync(file).mtime });
  }
}

const store = loadStores(args.dir);
let latencyMs = Number(args['latency-ms'] ?? 0);
/** A capped link: bytes per millisecond (0 = no cap), and when it is next free (performance.now() ms). */
interface Link {
  bandwidth: number;
  freeAt: number;
}
/** The link every response shares, unless it came in on a port with a link of its own. */
const shared: Link = { bandwidth: 0, freeAt: 0 };
/** Extra ports, each with its own link: a client process per port is a machine with its own connection. */
const ownLinks = new Map<number, Link>();
const PACED_CHUNK = 64 * 1024;
const emptyStats = (): Required<BenchStats> => ({ totalGets: 0, lists: 0, requests: 0, maxInFlight: 0, cpuMs: 0, getMs: 0, getSpanMs: 0 });
let stats = emptyStats();
let inFlight = 0;
let firstGetAt: number | undefined;
let cpuAtReset = process.cpuUsage();

const xml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** First index whose key is > `after` (or >= `from`), by binary search over the sorted keys. */
function lowerBound(keys: string[], from: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid] as string;
    if (k < from || (!inclusive && k === from)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function listObjectsV2(res: ServerResponse, name: string, bucket: Bucket, q: URLSearchParams): void {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = Math.min(MAX_KEYS, Number(q.get('max-keys') ?? MAX_KEYS));
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  const urlEncoded = q.get('encoding-type') === 'url';
  const enc = (s: string): string => xml(urlEncoded ? encodeURIComponent(s).replaceAll('%2F', '/') : s);
  // The token is the last key or common prefix returned, in base64: resume strictly after it.
  const after = token === null ? startAfter : Buffer.from(token, 'base64url').toString('utf8');
  const { keys, objects } = bucket;
  let i = after > prefix ? lowerBound(keys, after, false) : lowerBound(keys, prefix, true);
  const contents: string[] = [];
  const common: string[] = [];
  let last = '';
  while (i < keys.length && contents.length + common.length < maxKeys) {
    const key = keys[i] as string;
    if (!key.startsWith(prefix)) break;
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    if (cut !== -1) {
      const cp = key.slice(0, cut + delimiter.length);
      common.push(`<CommonPrefixes><Prefix>${enc(cp)}</Prefix></CommonPrefixes>`);
      // Every key under this common prefix sorts before cp + U+FFFF: skip them all at once.
      last = `${cp}\uffff`;
      i = lowerBound(keys, last, false);
      continue;
    }
    const o = objects.get(key) as StoredObject;
    contents.push(
      `<Contents><Key>${enc(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified>` +
        `<ETag>${xml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    );
    last = key;
    i += 1;
  }
  const truncated = i < keys.length && (keys[i] as string).startsWith(prefix);
  const body =
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>${xml(name)}</Name><Prefix>${enc(prefix)}</Prefix><KeyCount>${contents.length + common.length}</KeyCount>` +
    `<MaxKeys>${maxKeys}</MaxKeys>${delimiter === '' ? '' : `<Delimiter>${enc(delimiter)}</Delimiter>`}` +
    (urlEncoded ? '<EncodingType>url</EncodingType>' : '') +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (token === null ? '' : `<ContinuationToken>${xml(token)}</ContinuationToken>`) +
    (truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : '') +
    `${contents.join('')}${common.join('')}</ListBucketResult>`;
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function getObject(req: IncomingMessage, res: ServerResponse, bucket: Bucket, key: string, link: Link): void {
  const o = bucket.objects.get(key);
  if (!o) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
  // Whole objects only: a ranged read answered in full would look like a success and corrupt data.
  if (req.headers.range !== undefined) return sendError(res, 501, 'NotImplemented', 'Range requests are not supported');
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': o.body.length,
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
  });
  if (req.method === 'HEAD') res.end();
  else if (link.bandwidth > 0) sendPaced(res, o.body, link);
  else res.end(o.body);
}

/**
 * Sends `body` in chunks, each when the shared link would have carried it: a chunk books the link
 * after the ones booked before it, so responses in flight share the bandwidth as on one real link.
 */
function sendPaced(res: ServerResponse, body: Buffer, link: Link): void {
  let offset = 0;
  const next = (): void => {
    if (res.destroyed) return;
    if (offset >= body.length) return void res.end();
    const chunk = body.subarray(offset, offset + PACED_CHUNK);
    offset += chunk.length;
    const now = performance.now();
    link.freeAt = Math.max(now, link.freeAt) + chunk.length / link.bandwidth;
    setTimeout(() => {
      if (res.write(chunk)) next();
      else res.once('drain', next);
    }, link.freeAt - now);
  };
  next();
}

function control(req: IncomingMessage, res: ServerResponse, route: string): void {
  const reply = (value: unknown, status = 200): void => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (req.method === 'GET' && route === 'stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    return reply({ ...stats, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  if (req.method === 'POST' && route === 'reset') {
    stats = emptyStats();
    firstGetAt = undefined;
    cpuAtReset = process.cpuUsage();
    return reply({ ok: true });
  }
  // POST links {count, mbps}: `count` more ports, each with a link of its own at `mbps`.
  if (req.method === 'POST' && route === 'links') {
    readJson(req, (body) => {
      const { count, mbps } = body as { count?: unknown; mbps?: unknown };
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || typeof mbps !== 'number' || mbps <= 0) {
        return reply({ error: 'expected { count, mbps }' }, 400);
      }
      Promise.all(Array.from({ length: count }, () => listen(mbpsToBandwidth(mbps)))).then(
        (ports) => reply({ ports }),
        (error: unknown) => reply({ error: String(error) }, 500),
      );
    });
    return;
  }
  // POST latency {ms}, POST bandwidth {mbps} (megabits a second, 0 = no cap).
  const setting: string | undefined = ({ latency: 'ms', bandwidth: 'mbps' } as Record<string, string>)[route];
  if (req.method === 'POST' && setting !== undefined) {
    readJson(req, (body) => {
      const value = (body as Record<string, unknown>)[setting];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return reply({ error: `bad ${route} ${String(value)}` }, 400);
      if (route === 'latency') latencyMs = value;
      else shared.bandwidth = mbpsToBandwidth(value);
      reply({ ok: true });
    });
    return;
  }
  reply({ error: `unknown control request ${req.method} ${route}` }, 404);
}

function readJson(req: IncomingMessage, then: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
}

/** Megabits a second -> bytes a millisecond. */
const mbpsToBandwidth = (mbps: number): number => (mbps * 1e6) / 8 / 1000;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname.startsWith('/__control/')) return control(req, res, url.pathname.slice('/__control/'.length));
  stats.requests += 1;
  const [, name = '', rawKey = ''] = /^\/([^/]+)\/?(.*)$/.exec(url.pathname) ?? [];
  const key = decodeURIComponent(rawKey);
  const isGet = req.method === 'GET' || req.method === 'HEAD';
  if (isGet && key !== '') {
    stats.totalGets += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, ++inFlight);
    const arrived = performance.now();
    firstGetAt ??= arrived;
    res.once('close', () => {
      inFlight -= 1;
      const now = performance.now();
      stats.getMs += now - arrived;
      stats.getSpanMs = now - (firstGetAt ?? arrived);
    });
  } else if (isGet) {
    stats.lists += 1;
  }
  const respond = (): void => {
    const bucket = store.get(name);
    if (!bucket) return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (!isGet) return sendError(res, 501, 'NotImplemented', `${req.method} is not supported by this read-only server`);
    if (key !== '') return getObject(req, res, bucket, key, ownLinks.get(req.socket.localPort ?? 0) ?? shared);
    if (url.searchParams.get('list-type') === '2') return listObjectsV2(res, name, bucket, url.searchParams);
    sendError(res, 501, 'NotImplemented', 'Only ListObjectsV2 (list-type=2) is supported');
  };
  // Like a distant server: the wait happens before the first byte, per request.
  if (latencyMs > 0) setTimeout(respond, latencyMs);
  else respond();
}

/** Listens on a new port; with `bandwidth`, that port's responses share a link of their own. */
function listen(bandwidth?: number): Promise<number> {
  const server = createServer(handle);
  // Longer than any pause between a client's requests, so no idle keep-alive socket is closed under it.
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      if (bandwidth !== undefined) ownLinks.set(port, { bandwidth, freeAt: 0 });
      resolve(port);
    }),
  );
}

listen().then(
  (port) => process.stdout.write(`LISTENING ${port}\n`),
  (error: unknown) => {
    process.stderr.write(`fast-s3: ${String(error)}\n`);
    process.exit(1);
  },
);

// Don't outlive a parent that died without stopping us.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 1000).unref();
process.on('SIGTERM', () => process.exit(0));
