// The CLI reference (docs/cli.md: every command, flag, environment variable and exit code) and
// the README's table of commands, generated from the declaration (commands.ts) and the exit codes
// (exit.ts): `npm run docs:cli` rewrites the sections between the markers, and a test fails when
// either file's section differs from what this renders.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { COMMANDS, ENVIRONMENT, FLAG_GROUPS, PROGRAM, commandLine, defaultOf, envOf, type Command, type Flag } from './commands.js';
import { EXIT, EXIT_MEANINGS } from './exit.js';
import { flagSpelling } from './help.js';

export const START_MARKER = '<!-- cli-reference:start -->';
export const END_MARKER = '<!-- cli-reference:end -->';
/** The README's table of commands, between these. */
export const SUMMARY_MARKERS = { start: '<!-- cli-summary:start -->', end: '<!-- cli-summary:end -->' } as const;

/** Text safe inside a table cell. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
/** A default as code when it is a value (`20`), as words when it says one (`no cap`). */
const shownDefault = (d: string | undefined): string => (d === undefined ? '' : /\s/.test(d) ? cell(d) : code(d));
const code = (s: string): string => `\`${s}\``;

function flagRow(f: Flag): string {
  const d = defaultOf(f);
  const env = envOf(f);
  return `| ${code(flagSpelling(f))} | ${cell(f.help)} | ${shownDefault(d)} | ${env === undefined ? '' : code(env)} |`;
}

const TABLE_HEAD = ['| option | meaning | default | env |', '|---|---|---|---|'];
const anchor = (title: string): string => `#${title.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')}`;

/** 'a, b and c'. */
const andList = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1) ?? ''}`);

function commandSection(c: Command): string[] {
  // A shared group is named, not repeated: a command takes it whole or not at all.
  const groups = FLAG_GROUPS.filter((g) => g.flags.every((f) => c.flags.includes(f)));
  const own = c.flags.filter((f) => !groups.some((g) => g.flags.includes(f)));
  return [
    `### ${code(commandLine(c))}`,
    '',
    ...c.usage.map((u) => `${code(`${PROGRAM} ${u}`)}  `),
    '',
    c.summary,
    ...c.details.flatMap((p) => ['', p]),
    '',
    ...(own.length > 0 ? [...TABLE_HEAD, ...own.map(flagRow), ''] : []),
    `${own.length > 0 ? 'Also takes the' : 'Takes the'} ${andList(groups.map((g) => `[${g.title.toLowerCase()}](${anchor(g.title)})`))}.`,
    '',
  ];
}

function groupSection(g: (typeof FLAG_GROUPS)[number]): string[] {
  return [`### ${g.title}`, '', ...TABLE_HEAD, ...g.flags.map(flagRow), ''];
}

/** Every environment variable: those behind a flag (as the flag says), then those no flag sets. */
function environment(): string[] {
  const seen = new Map<string, Flag>();
  for (const c of COMMANDS) for (const f of c.flags) if (envOf(f) !== undefined && !seen.has(envOf(f) ?? '')) seen.set(envOf(f) ?? '', f);
  return [
    '### Environment',
    '',
    'Flags win over the environment.',
    '',
    '| variable | meaning | default |',
    '|---|---|---|',
    ...ENVIRONMENT.map((e) => `| ${e.name.split(', ').map(code).join(', ')} | ${cell(e.help)} | ${cell(e.default)} |`),
    ...[...seen].map(([name, f]) => `| ${code(name)} | as ${code(`--${f.name}`)}: ${cell(f.help)} | ${shownDefault(defaultOf(f))} |`),
    '',
  ];
}

function exitCodes(): string[] {
  return [
    '### Exit codes',
    '',
    '| code | meaning |',
    '|---|---|',
    ...(Object.entries(EXIT) as [keyof typeof EXIT, number][]).map(([name, n]) => `| ${code(String(n))} | ${cell(EXIT_MEANINGS[name])} |`),
  ];
}

const GENERATED = '<!-- Generated from src/cli/commands.ts by `npm run docs:cli`: edit the declaration, not this section. -->';

/** The markdown of the whole reference (without the markers). */
export function renderReference(): string {
  return [
    GENERATED,
    '',
    ...COMMANDS.flatMap(commandSection),
    ...FLAG_GROUPS.flatMap(groupSection),
    ...environment(),
    ...exitCodes(),
  ].join('\n');
}

/**
 * The README's table of commands: each command's line and summary, and where the rest is. A
 * short table, so that the README stays a page; docs/cli.md holds every flag.
 */
export function renderSummary(): string {
  return [
    GENERATED,
    '',
    '| command | what it does |',
    '|---|---|',
    ...COMMANDS.map((c) => `| [${code(commandLine(c))}](docs/cli.md${anchor(code(commandLine(c)))}) | ${cell(c.summary)} |`),
    '',
    'Every flag, its default and environment variable, and the exit codes: [docs/cli.md](docs/cli.md) (`--help` on any command prints the same).',
  ].join('\n');
}

/** `text` with the section between `markers` replaced by `section`. @throws when a marker is missing */
export function replaceReference(text: string, reference: string = renderReference(), markers: { start: string; end: string } = { start: START_MARKER, end: END_MARKER }): string {
  const start = text.indexOf(markers.start);
  const end = text.indexOf(markers.end);
  if (start === -1 || end === -1 || end < start) throw new Error(`the file needs the markers ${markers.start} and ${markers.end}, in that order`);
  return `${text.slice(0, start + markers.start.length)}\n${reference}\n${text.slice(end)}`;
}

/** The section between the markers as it stands. */
export function currentReference(text: string, markers: { start: string; end: string } = { start: START_MARKER, end: END_MARKER }): string | undefined {
  const start = text.indexOf(markers.start);
  const end = text.indexOf(markers.end);
  if (start === -1 || end === -1 || end < start) return undefined;
  return text.slice(start + markers.start.length, end).replace(/^\n/, '').replace(/\n$/, '');
}

// `npm run docs:cli`: rewrites docs/cli.md's reference and README.md's table in place.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cli = new URL('../../docs/cli.md', import.meta.url);
  writeFileSync(cli, replaceReference(readFileSync(cli, 'utf8')));
  const readme = new URL('../../README.md', import.meta.url);
  writeFileSync(readme, replaceReference(readFileSync(readme, 'utf8'), renderSummary(), SUMMARY_MARKERS));
}
