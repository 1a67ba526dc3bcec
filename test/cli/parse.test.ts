import { describe, expect, it } from 'vitest';
import { COMMANDS, command } from '../../src/cli/commands.js';
import { nearestFlag, optionsOf, parseCommandLine, UsageError } from '../../src/cli/parse.js';

/** What a usage error of `argv` says: it must throw one. */
const usageError = (argv: string[]): Error => {
  const thrown = (() => {
    try {
      return parseCommandLine(argv);
    } catch (error) {
      return error;
    }
  })();
  expect(thrown).toBeInstanceOf(UsageError);
  return thrown as Error;
};

describe('parseCommandLine', () => {
  it.each([
    [['TSLA'], 'run', ['TSLA']],
    [['sync'], 'sync', []],
    [['--cache-dir', '/tmp/c', 'sync'], 'sync', []],
    [['--cache-dir=/tmp/c', 'sync'], 'sync', []],
    [['--store', 'postgres://u@h/db', 'status'], 'status', []],
    [['--json', 'sync'], 'sync', []],
    [['--quiet', '--cache-dir', '/tmp/c', 'export', 'TSLA', '--out', 'x'], 'export', ['TSLA']],
    [['--period', '1y', 'TSLA'], 'run', ['TSLA']],
    // Only the first operand names a command: a later one is a symbol.
    [['TSLA', 'sync'], 'run', ['TSLA', 'sync']],
    // An upper-case word is a symbol (SYNC is a ticker).
    [['SYNC'], 'run', ['SYNC']],
  ])('%j is %s with operands %j', (argv, name, positionals) => {
    const line = parseCommandLine(argv);
    expect(line.command.name).toBe(name);
    expect(line.positionals).toEqual(positionals);
  });

  it('keeps the flags given before the command', () => {
    const line = parseCommandLine(['--cache-dir', '/tmp/c', '--json', 'sync', '--workers', '4']);
    expect(line.values).toMatchObject({ 'cache-dir': '/tmp/c', json: true, workers: '4' });
    expect(optionsOf(line)).toEqual({ cacheDir: '/tmp/c', workers: 4 });
  });

  it.each([
    [['TSLA', '--perod', '1y'], 'unknown option --perod (did you mean --period?)'],
    [['TSLA', '--wrokers', '4'], 'unknown option --wrokers (did you mean --workers?)'],
    [['TSLA', '--perod=1y'], 'unknown option --perod (did you mean --period?)'],
    [['export', 'TSLA', '--out', 'x', '--partiton', 'year'], 'unknown option --partiton (did you mean --partition?)'],
    [['TSLA', '--xyzzy'], 'unknown option --xyzzy (see preload-market-data --help)'],
    [['TSLA', '--adjust', 'none'], 'a run takes no --adjust (an option of show, export)'],
    [['sync', '--period', '1y'], 'sync takes no --period: it brings each stored job up to the last published day, in its own window'],
    [['status', '--last', '3'], 'status takes no --last (an option of show)'],
  ])('%j: %s', (argv, message) => {
    const e = usageError(argv);
    expect(e.message).toBe(message);
  });

  it.each([
    [['TSLA', '--period'], 'option --period needs a value (P), e.g. --period 1y'],
    [['TSLA', '--store-timeout', '--json'], 'option --store-timeout needs a value (MS), e.g. --store-timeout 60000'],
    [['TSLA', '--json=yes'], 'option --json takes no value, got --json=yes'],
  ])('%j: a missing or extra value in one line', (argv, message) => {
    expect(usageError(argv).message).toBe(message);
  });

  it('converts numbers as declared and passes anything else through for validation to echo', () => {
    expect(optionsOf(parseCommandLine(['TSLA', '--workers', '8', '--max-rps', '2.5', '--store-timeout', '0']))).toEqual({ workers: 8, maxRps: 2.5, storeTimeoutMs: 0 });
    expect(optionsOf(parseCommandLine(['TSLA', '--workers', 'abc']))).toEqual({ workers: 'abc' });
    expect(optionsOf(parseCommandLine(['TSLA', '--dry-run', '--keep-raw']))).toEqual({ dryRun: true, keepRaw: true });
  });
});

describe('the declaration', () => {
  it('gives the commands that download --dry-run, and only them', () => {
    const withDryRun = COMMANDS.filter((c) => c.flags.some((f) => f.name === 'dry-run')).map((c) => c.name);
    expect(withDryRun).toEqual(['run', 'sync']);
  });

  it('gives every command the common flags, meaning the same', () => {
    for (const name of ['json', 'quiet', 'verbose', 'help', 'cache-dir', 'store']) {
      const flags = COMMANDS.map((c) => c.flags.find((f) => f.name === name));
      expect(flags.every((f) => f !== undefined)).toBe(true);
      expect(new Set(flags.map((f) => f?.help)).size).toBe(1);
    }
  });

  it('declares each flag once per command, and no adjust on the run', () => {
    for (const c of COMMANDS) expect(new Set(c.flags.map((f) => f.name)).size).toBe(c.flags.length);
    expect(command('run').flags.map((f) => f.name)).not.toContain('adjust');
  });

  it('finds the nearest flag only when it is near', () => {
    const flags = command('run').flags;
    expect(nearestFlag('perod', flags)).toBe('period');
    expect(nearestFlag('cachedir', flags)).toBe('cache-dir');
    expect(nearestFlag('zz', flags)).toBeUndefined();
  });
});
