/** Starts the benchmark's S3 server (fast-s3.ts, or s3rver for comparison) in a child process. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startS3Server } from '../../test/fixtures/s3-server.js';

export type ServerKind = 'fast' | 's3rver';

/** What both servers count since the last reset (the test server's stats hold more). */
export interface BenchStats {
  /** Object GETs. */
  totalGets: number;
  lists: number;
  /** Every request except control requests. */
  requests: number;
  /** Most object GETs being handled at once. */
  maxInFlight?: number;
  /** CPU time of the server process (fast server only). */
  cpuMs?: number;
  /**
   * Sum of the GETs' durations (arrival to last byte handed to the socket) and the span from the
   * first arrival to the last GET's end (fast server only): their ratio is the average number of
   * GETs the client kept in flight, which is what a client that does its own work between
   * responses fails to keep up.
   */
  getMs?: number;
  getSpanMs?: number;
}

export interface BenchServer {
  kind: ServerKind;
  endpoint: string;
  stats(): Promise<BenchStats>;
  resetStats(): Promise<void>;
  setLatency(ms: number): Promise<void>;
  /** A bandwidth cap shared by all responses, in megabits a second; 0 = none (fast server only). */
  setBandwidth(mbps: number): Promise<void>;
  /**
   * `count` more endpoints, each with a link of its own at `mbps` (fast server only): one per
   * client process simulates machines that each have their own connection.
   */
  ownLinks(count: number, mbps: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** Resolved here rather than by name so children start from any cwd. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const FAST_SCRIPT = fileURLToPath(new URL('./fast-s3.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** Serves the stores in `dirs` (their buckets merged; s3rver serves the first only). */
export async function startBenchServer(kind: ServerKind, dirs: string[], latencyMs: number): Promise<BenchServer> {
  if (kind === 's3rver') {
    const s3rver = await startS3Server({ dir: dirs[0] ?? '', latencyMs });
    return {
      kind,
      ...s3rver,
      setBandwidth: async (mbps) => {
        if (mbps > 0) throw new Error('s3rver has no bandwidth cap: use --server fast');
      },
      ownLinks: async () => {
        throw new Error('s3rver has no bandwidth cap: use --server fast');
      },
    };
  }

  const dirArgs = dirs.flatMap((d) => ['--dir', d]);
  const child = spawn(process.execPath, ['--import', TSX_LOADER, FAST_SCRIPT, ...dirArgs, '--latency-ms', String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`fast S3 server ${why}`));
    };
    const onExit = (code: number | null): void => fail(`exited before listening (code ${code})`);
    child.once('exit', onExit);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /^LISTENING (\d+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(Number(m[1]));
    });
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const call = async (method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${endpoint}/__control/${route}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`control ${route}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    kind,
    endpoint,
    stats: async () => (await call('GET', 'stats')) as BenchStats,
    resetStats: async () => void (await call('POST', 'reset')),
    setLatency: async (ms) => void (await call('POST', 'latency', { ms })),
    setBandwidth: async (mbps) => void (await call('POST', 'bandwidth', { mbps })),
    ownLinks: async (count, mbps) => ((await call('POST', 'links', { count, mbps })) as { ports: number[] }).ports.map((p) => `http://127.0.0.1:${p}`),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
