// The command line as the declaration (commands.ts) reads it: which command (a subcommand is
// found wherever global options put it: `--cache-dir DIR sync` is `sync`), its flags and operands,
// and a usage error as one line naming the flag and the nearest valid one.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMANDS, command, commandLine, type Command, type Flag } from './commands.js';

/** A command line the declaration does not accept: one line, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command it was given to, when known. */
  readonly command: Command | undefined;

  constructor(message: string, c?: Command) {
    super(message);
    this.command = c;
  }
}

export interface CommandLine {
  command: Command;
  /** Flags as typed, by name (`cache-dir`); a flag not given is absent. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Flag types across every command: enough to tell an option's value from a command word. */
const TYPES = new Map<string, Flag['type']>(COMMANDS.flatMap((c) => c.flags.flatMap((f) => [[f.name, f.type] as const, ...(f.short ? [[f.short, f.type] as const] : [])])));

/** The parseArgs options of a command's flags. */
export function parseArgsOptions(c: Command): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(c.flags.map((f) => [f.name, { type: f.type, ...(f.short !== undefined && { short: f.short }) }]));
}

/**
 * The first operand is the command when it names one, after any options: their values (the word
 * after a string flag) are skipped, so `--store URL status` is `status` and `--period 1y TSLA` a run.
 */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg.startsWith('-') && arg.length > 1) {
      const name = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
      if (!name.includes('=') && TYPES.get(name) === 'string') i++;
      continue;
    }
    const found = COMMANDS.find((c) => c.name !== 'run' && c.name === arg);
    return found === undefined ? { command: command('run'), rest: [...argv] } : { command: found, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: command('run'), rest: [...argv] };
}

/** Parses the command line against the declaration. @throws UsageError */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { command: c, rest } = findCommand(argv);
  const options = parseArgsOptions(c);
  // First every option's name, against this command's flags: an unknown one is named with the
  // nearest valid one, before any other complaint.
  const { tokens } = parseArgs({ args: rest, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const flag = c.flags.find((f) => f.name === t.name || f.short === t.name);
    if (flag === undefined) throw unknownOption(c, t.rawName);
    // A value that starts with a dash is taken for the next option unless written --flag=-1.
    const missing = t.value === undefined || (t.inlineValue !== true && t.value.startsWith('-'));
    if (flag.type === 'string' && missing) throw new UsageError(`option --${flag.name} needs a value (${flag.arg ?? 'a string'}), e.g. --${flag.name} ${example(flag)}`, c);
    if (flag.type === 'boolean' && t.inlineValue === true) throw new UsageError(`option --${flag.name} takes no value, got ${t.rawName}=${t.value ?? ''}`, c);
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
    return { command: c, values: values as CommandLine['values'], positionals };
  } catch (error) {
    // Whatever parseArgs still refuses, on one line.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '), c);
  }
}

/** A value to show in a "needs a value" line. */
function example(f: Flag): string {
  const examples: Record<string, string> = { N: '4', MS: '60000', SECONDS: '30', FORMAT: 'json', 'YYYY-MM-DD': '2024-01-02', DIR: './dir', URL: 'https://...', P: f.name === 'partition' ? 'year' : '1y' };
  return examples[f.arg ?? ''] ?? (f.arg ?? 'VALUE');
}

function unknownOption(c: Command, raw: string): UsageError {
  const name = raw.replace(/^-+/, '');
  const elsewhere = COMMANDS.filter((o) => o !== c && o.flags.some((f) => f.name === name));
  if (elsewhere.length > 0) {
    const who = c.name === 'run' ? 'a run' : c.name;
    const where = elsewhere.map((o) => (o.name === 'run' ? `${commandLine(o)} <SYMBOL...>` : o.name)).join(', ');
    return new UsageError(`${who} takes no --${name}${c.refusal ? `: ${c.refusal}` : ` (an option of ${where})`}`, c);
  }
  const nearest = nearestFlag(name, c.flags);
  return new UsageError(`unknown option ${raw}${nearest === undefined ? ` (see ${commandLine(c)} --help)` : ` (did you mean --${nearest}?)`}`, c);
}

/** The flag nearest to a misspelt one, if one is near enough to be what was meant. */
export function nearestFlag(name: string, flags: readonly Flag[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const f of flags) {
    const distance = editDistance(name, f.name);
    if (best === undefined || distance < best.distance) best = { name: f.name, distance };
  }
  // A third of the name (at least 1, at most 3 edits): `--perod` is `--period`, `--x` is nothing.
  const allowed = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = v;
    }
  }
  return at(a.length, b.length);
}

/**
 * The library options a command line sets: each given flag that stands for an option, its value
 * converted as declared. Strings that are not numbers pass through, so validation echoes them.
 */
export function optionsOf(line: CommandLine): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of line.command.flags) {
    const given = line.values[f.name];
    if (f.option === undefined || given === undefined) continue;
    out[f.option] = typeof given === 'string' ? convert(given, f.value) : given;
  }
  return out;
}

function convert(s: string, kind: Flag['value']): unknown {
  if (kind === 'int') return /^-?\d+$/.test(s.trim()) ? Number(s) : s;
  if (kind === 'number') return /^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : s;
  return s;
}
