/**
 * The floor: a bare client in one process GETting every key with N in flight and throwing the
 * bytes away. No listing, no verifying, no parsing: the best a client of this server could do.
 * Three clients, unsigned but for the SDK (the fixture server ignores signatures): `http`, plain
 * node:http with keep-alive sockets, the cheapest possible and so the floor; `fetch`, Node's fetch
 * (undici); `sdk`, @aws-sdk/client-s3 as a user would write it. The last two show what an HTTP
 * stack costs before the tool does any work of its own.
 *
 * Run as a child process:
 *   node --import tsx bench/scenarios/floor.ts --client http|fetch|sdk --endpoint URL --bucket B --keys FILE --in-flight N
 * Prints one JSON line: { transferMs, startupMs, files, bytes }. `transferMs` runs from the first GET
 * to the last byte; `startupMs` (node + tsx + imports) comes before it and is not part of the floor.
 */
import { readFileSync } from 'node:fs';
import { Agent, get, type IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    client: { type: 'string' },
    endpoint: { type: 'string' },
    bucket: { type: 'string' },
    keys: { type: 'string' },
    'in-flight': { type: 'string' },
  },
});
const { endpoint, bucket } = a;
const CLIENTS = ['http', 'fetch', 'sdk'];
if (!endpoint || !bucket || !a.keys || !CLIENTS.includes(a.client ?? '')) {
  throw new Error('usage: floor.ts --client http|fetch|sdk --endpoint URL --bucket B --keys FILE [--in-flight N]');
}
const keys = JSON.parse(readFileSync(a.keys, 'utf8')) as Array<{ key: string; size: number }>;
const inFlight = Number(a['in-flight'] ?? 20);

const agent = new Agent({ keepAlive: true, maxSockets: 50 });
type GetBody = (key: string) => Promise<AsyncIterable<Uint8Array>>;

function httpGet(key: string): Promise<AsyncIterable<Uint8Array>> {
  return new Promise((resolve, reject) => {
    get(`${endpoint}/${bucket}/${key}`, { agent }, (res: IncomingMessage) => {
      if (res.statusCode === 200) resolve(res);
      else reject(new Error(`${key}: HTTP ${res.statusCode}`));
    }).on('error', reject);
  });
}

async function fetchGet(key: string): Promise<AsyncIterable<Uint8Array>> {
  const res = await fetch(`${endpoint}/${bucket}/${key}`);
  if (res.status !== 200 || !res.body) throw new Error(`${key}: HTTP ${res.status}`);
  return res.body;
}

/** Imported only for this client, so the plain floor's RSS and CPU carry none of the SDK. */
async function sdkGetter(): Promise<GetBody> {
  const { GetObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  // The settings STACK.md gives for servers that are not AWS (the tool's listing client has them too).
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env['MASSIVE_ACCESS_KEY_ID'] ?? 'BENCH', secretAccessKey: process.env['MASSIVE_SECRET_ACCESS_KEY'] ?? 'BENCH' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: agent },
  });
  return async (key) => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as AsyncIterable<Uint8Array>;
}

const getBody: GetBody = a.client === 'sdk' ? await sdkGetter() : a.client === 'fetch' ? fetchGet : httpGet;
const startupMs = performance.now();
let bytes = 0;
let next = 0;
async function lane(): Promise<void> {
  for (let item = keys[next++]; item !== undefined; item = keys[next++]) {
    let got = 0;
    for await (const chunk of await getBody(item.key)) got += chunk.byteLength;
    if (got !== item.size) throw new Error(`${item.key}: got ${got} bytes, expected ${item.size}`);
    bytes += got;
  }
}
await Promise.all(Array.from({ length: inFlight }, lane));
const transferMs = performance.now() - startupMs;
agent.destroy();
process.stdout.write(`${JSON.stringify({ transferMs, startupMs, files: keys.length, bytes })}\n`);
