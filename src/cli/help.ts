// `--help` of each command, generated from its declaration (commands.ts): usage, summary, every
// flag with its default and environment variable, and for the run the other commands, the
// environment and the exit codes.
import { COMMANDS, ENVIRONMENT, PROGRAM, defaultOf, envOf, type Command, type Flag } from './commands.js';
import { EXIT, EXIT_MEANINGS } from './exit.js';

const WIDTH = 96;
const FLAG_COLUMN = 24;

/** A flag as typed in help: `--cache-dir DIR`, `--help, -h`. */
export function flagSpelling(f: Flag): string {
  return `--${f.name}${f.arg === undefined ? '' : ` ${f.arg}`}${f.short === undefined ? '' : `, -${f.short}`}`;
}

/** What help says of a flag after its line: the default and the environment variable. */
export function flagText(f: Flag): string {
  const notes = [defaultOf(f) === undefined ? undefined : `default: ${defaultOf(f)}`, envOf(f) === undefined ? undefined : `env: ${envOf(f)}`].filter((s) => s !== undefined);
  return notes.length === 0 ? f.help : `${f.help} (${notes.join('; ')})`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `name` in a column, then its text wrapped beside it. */
function row(name: string, text: string): string[] {
  const body = wrap(text, WIDTH - FLAG_COLUMN);
  const pad = ' '.repeat(FLAG_COLUMN);
  const first = name.length + 2 < FLAG_COLUMN ? `  ${name.padEnd(FLAG_COLUMN - 2)}${body[0] ?? ''}` : `  ${name}\n${pad}${body[0] ?? ''}`;
  return [first, ...body.slice(1).map((l) => `${pad}${l}`)];
}

export function helpText(c: Command): string {
  const usage = c.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${PROGRAM} ${u}`);
  const lines = [...usage, '', ...wrap(c.summary, WIDTH)];
  for (const p of c.details) lines.push('', ...wrap(p, WIDTH));
  lines.push('', 'Options:', ...c.flags.flatMap((f) => row(flagSpelling(f), flagText(f))));
  if (c.name === 'run') {
    lines.push('', 'Commands:');
    for (const other of COMMANDS.filter((o) => o.name !== 'run')) lines.push(...row(other.name, other.summary));
    lines.push('', `${PROGRAM} <command> --help: the options of a command.`);
    lines.push('', 'Environment (flags win over it):');
    for (const e of ENVIRONMENT) lines.push(...row(e.name, `${e.help} (default: ${e.default})`));
  }
  lines.push('', 'Exit codes:');
  for (const [name, code] of Object.entries(EXIT) as [keyof typeof EXIT, number][]) {
    if (name === 'busy' && c.name !== 'sync') continue;
    lines.push(...row(String(code), EXIT_MEANINGS[name]));
  }
  return lines.join('\n');
}
