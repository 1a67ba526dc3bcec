// The README's CLI reference, generated from the declaration (commands.ts) and the exit codes
// (exit.ts): `npm run docs:cli` rewrites the section between the markers, and a test fails when
// README.md's section differs from what this renders.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { COMMANDS, ENVIRONMENT, FLAG_GROUPS, PROGRAM, commandLine, defaultOf, envOf, type Command, type Flag } from './commands.js';
import { EXIT, EXIT_MEANINGS } from './exit.js';
import { flagSpelling } from './help.js';

export const START_MARKER = '<!-- cli-reference:start -->';
export const END_MARKER = '<!-- cli-reference:end -->';

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

/** The markdown of the whole reference (without the markers). */
export function renderReference(): string {
  return [
    '<!-- Generated from src/cli/commands.ts by `npm run docs:cli`: edit the declaration, not this section. -->',
    '',
    ...COMMANDS.flatMap(commandSection),
    ...FLAG_GROUPS.flatMap(groupSection),
    ...environment(),
    ...exitCodes(),
  ].join('\n');
}

/** `readme` with the section between the markers replaced by `reference`. @throws when a marker is missing */
export function replaceReference(readme: string, reference: string = renderReference()): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) throw new Error(`README.md needs the markers ${START_MARKER} and ${END_MARKER}, in that order`);
  return `${readme.slice(0, start + START_MARKER.length)}\n${reference}\n${readme.slice(end)}`;
}

/** The section between the markers as it stands. */
export function currentReference(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end).replace(/^\n/, '').replace(/\n$/, '');
}

// `npm run docs:cli`: rewrites README.md's section in place.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = new URL('../../README.md', import.meta.url);
  writeFileSync(path, replaceReference(readFileSync(path, 'utf8')));
}
