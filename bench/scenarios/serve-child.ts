/**
 * A server of the serve benchmark, in a process of its own (the load generator must not share its
 * event loop): `floor BODIES_FILE`, a bare node:http server answering precomputed bodies by URL;
 * or `serve APP CACHE_DIR OPTIONS_JSON`, the built library's createServer. Prints its URL. Or
 * `probe URL SECONDS`: GET URL every 50 ms on a fresh connection each and print the latencies'
 * p99, max and count as JSON (a process of its own: the load generator's event loop would add its
 * own delays to what is measured).
 */
import { createServer as httpServer, get as httpGet } from 'node:http';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, a, b, c] = process.argv.slice(2);

if (mode === 'floor') {
  const bodies = new Map(Object.entries(JSON.parse(readFileSync(a ?? '', 'utf8')) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v)]));
  const server = httpServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address !== null && typeof address === 'object') console.log(`http://127.0.0.1:${address.port}`);
  });
} else if (mode === 'serve') {
  type Library = typeof import('../../src/index.js');
  const lib = (await import(pathToFileURL(path.join(a ?? '', 'dist', 'index.js')).href)) as Library;
  const server = await lib.createServer({ cacheDir: b ?? '', port: 0, ...(JSON.parse(c ?? '{}') as object) });
  const { url } = await server.listen();
  console.log(url);
  process.on('SIGTERM', () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
} else if (mode === 'probe') {
  const until = performance.now() + Number(b) * 1000;
  const times: number[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      httpGet(a ?? '', (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', () => resolve());
    });
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 50));
  }
  times.sort((x, y) => x - y);
  const at = (q: number): number => Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN) * 10) / 10;
  console.log(JSON.stringify({ p99: at(0.99), max: at(1), count: times.length }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
