// The runner's seam for logs and metrics: every observer the flags ask for sees the command's
// end with its exit code, also when the command throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { main } from '../../src/cli/main.js';
import { OBSERVERS, type CommandEnd, type ObserverFactory } from '../../src/cli/observe.js';

const sink = (): Writable & { text: string } => {
  const s = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => void ((s.text += chunk.toString()), done()) }), { text: '' });
  return s;
};

let added: ObserverFactory | undefined;
const dirs: string[] = [];
afterEach(() => {
  if (added) OBSERVERS.splice(OBSERVERS.indexOf(added), 1);
  added = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('observers', () => {
  it('end with the exit code and the error when the command throws', async () => {
    const ends: CommandEnd[] = [];
    const commands: string[] = [];
    added = ({ line }) => {
      commands.push(line.command.name);
      return { event: () => {}, end: (e) => void ends.push(e) };
    };
    OBSERVERS.push(added);
    const dir = mkdtempSync(join(tmpdir(), 'pmd-observe-'));
    dirs.push(dir);
    const stderr = sink();
    const code = await main(['--cache-dir', dir, 'sync'], { stdout: sink(), stderr, env: {} });
    expect(code).toBe(2);
    expect(commands).toEqual(['sync']);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ exitCode: 2, report: undefined });
    expect(ends[0]?.error).toBeInstanceOf(ConfigurationError);
    expect(stderr.text).toContain('Nothing to sync');
  });

  it('a later observer refusing its flag is reported by the JSON log, and stderr stays JSON only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmd-observe-'));
    dirs.push(dir);
    const stderr = sink();
    const missing = join(dir, 'no-such-dir', 'pmd.prom');
    const code = await main(['status', '--cache-dir', dir, '--log-format', 'json', '--metrics-file', missing], { stdout: sink(), stderr, env: {} });
    expect(code).toBe(2);
    const lines = stderr.text.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; code?: string });
    expect(lines.map((l) => l.msg)).toEqual(['start', expect.stringContaining('--metrics-file') as unknown as string, 'end']);
    expect(lines[1]).toMatchObject({ level: 'error', code: 'ERR_USAGE' });
  });
});
