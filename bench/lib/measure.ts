/**
 * Runs a child process and measures it: wall time from spawn to exit, and peak RSS and CPU time
 * (user + system, every thread) from the kernel's rusage. GNU time (`/usr/bin/time -f`) reads it
 * when installed; otherwise a node child reports its own `process.resourceUsage()` on exit through
 * an `--import` hook (other commands then go without).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3_CREDENTIALS } from '../../test/fixtures/s3-server.js';

export interface Measured {
  wallMs: number;
  /** Peak resident set size in KiB, when it could be measured. */
  rssKb: number | undefined;
  /** User + system CPU time in ms, when it could be measured. */
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
export const rusageMethod = hasGnuTime ? 'GNU time (wait4 rusage of the child)' : 'process.resourceUsage() of the node child, via --import hook';

// Only the main thread writes: worker threads inherit the --import and would race it.
const RUSAGE_HOOK =
  'data:text/javascript,import{writeFileSync}from"node:fs";import{isMainThread}from"node:worker_threads";' +
  'if(isMainThread)process.on("exit",()=>{const u=process.resourceUsage();' +
  'writeFileSync(process.env.BENCH_RUSAGE_FILE,`${u.maxRSS} ${(u.userCPUTime+u.systemCPUTime)/1000}`)})';

const scratch = mkdtempSync(path.join(tmpdir(), 'bench-rusage-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
let seq = 0;

/** Runs `command args` to completion; for `process.execPath` the rusage hook works without GNU time. */
/** The environment of a CLI run in the benchmark: the test server's credentials, no SDK Node-version warning. */
export const cliEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  MASSIVE_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
  MASSIVE_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

export async function measure(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const out = path.join(scratch, `${seq++}.txt`);
  const isNode = command === process.execPath;
  const [cmd, argv, childEnv] = hasGnuTime
    ? [GNU_TIME, ['-o', out, '-f', '%M %U %S', command, ...args], env]
    : isNode
      ? [command, ['--import', RUSAGE_HOOK, ...args], { ...env, BENCH_RUSAGE_FILE: out }]
      : [command, args, env];
  const started = performance.now();
  const child = spawn(cmd, argv, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const wallMs = performance.now() - started;
  let rssKb: number | undefined;
  let cpuMs: number | undefined;
  try {
    // GNU time prepends "Command exited with non-zero status N": the numbers are the last line.
    const last = readFileSync(out, 'utf8').trim().split('\n').at(-1) ?? '';
    const [rss, a, b] = last.split(' ').map(Number);
    rssKb = rss;
    cpuMs = hasGnuTime ? ((a ?? 0) + (b ?? 0)) * 1000 : a;
  } catch {
    // No rusage (a non-node command without GNU time): leave the columns empty.
  }
  return { wallMs, rssKb, cpuMs, code, stdout, stderr };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
