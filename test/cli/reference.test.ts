import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandLine, type Command } from '../../src/cli/commands.js';
import { main } from '../../src/cli/main.js';
import { currentReference, renderReference, renderSummary, SUMMARY_MARKERS } from '../../src/cli/reference.js';

/** `--help` of a command, as the CLI prints it. */
async function help(c: Command): Promise<string> {
  let stdout = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((stdout += String(chunk)), done()) });
  const argv = c.name === 'run' ? ['--help'] : [c.name, '--help'];
  expect(await main(argv, { stdout: sink, stderr: sink, env: {} })).toBe(0);
  return stdout;
}

/** The flags a help text lists in its Options section. */
function listedFlags(text: string): string[] {
  const section = text.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}--([a-z][a-z-]*)/gm)].map((m) => m[1] ?? '');
}

describe('the CLI reference', () => {
  it("docs/cli.md's section is the one generated from the declaration (npm run docs:cli rewrites it)", () => {
    const page = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(currentReference(page), 'docs/cli.md has no <!-- cli-reference:start/end --> markers').toBeDefined();
    expect(currentReference(page)).toBe(renderReference());
  });

  it("README.md's table of commands is the one generated from the declaration, one row a command", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = currentReference(readme, SUMMARY_MARKERS);
    expect(table, 'README.md has no <!-- cli-summary:start/end --> markers').toBe(renderSummary());
    for (const c of COMMANDS) expect(table).toContain(`[\`${commandLine(c)}\`](docs/cli.md#`);
  });

  it.each(COMMANDS.map((c) => [commandLine(c), c] as const))('%s --help lists exactly the declared flags', async (_name, c) => {
    const text = await help(c);
    expect(text).toContain(`Usage: ${commandLine(c)}`);
    expect(listedFlags(text)).toEqual(c.flags.map((f) => f.name));
  });

  it('shows defaults and environment variables from the options schema', async () => {
    // Wrapped lines read as one.
    const flat = (s: string): string => s.replace(/\s+/g, ' ');
    const text = flat(await help(COMMANDS[0] as Command));
    expect(text).toContain('--workers N downloads in flight, 1 to 64 (on a shared store: starts at 4, one more per completed file) (default: 20)');
    expect(text).toContain('--endpoint URL S3 endpoint of the flat files (default: https://files.massive.com; env: MASSIVE_S3_ENDPOINT)');
    const exported = flat(await help(COMMANDS.find((c) => c.name === 'export') as Command));
    expect(exported).toContain('--format F parquet or csv (default: parquet)');
    expect(exported).toContain('(default: year)');
  });
});
