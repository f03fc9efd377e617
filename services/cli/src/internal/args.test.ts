import { describe, expect, it } from 'vitest';
import { parseArgs, wantsHelp } from '../command';
import { intOption, parseCommandLine, stringOption } from './args';
import { UsageError } from './errors';

describe('parseArgs (command.ts)', () => {
  it('reads --flag value, --flag=value, switches, -h and positionals', () => {
    expect(parseArgs(['create', '--scope', 'admin', '--name=ops', '--json'])).toEqual({
      positional: ['create'],
      flags: { scope: 'admin', name: 'ops', json: true },
    });
    expect(parseArgs(['-h']).flags.help).toBe(true);
    expect(wantsHelp(parseArgs(['help']))).toBe(true);
  });

  it('stops at -- and keeps what follows as positionals', () => {
    expect(parseArgs(['check', '--', '--not-a-flag'])).toEqual({ positional: ['check', '--not-a-flag'], flags: {} });
  });

  it('a value starting with - is not taken as a value', () => {
    expect(parseArgs(['--seed-random', '-5']).flags['seed-random']).toBe(true);
    expect(parseArgs(['--seed-random=-5']).flags['seed-random']).toBe('-5');
  });
});

describe('parseCommandLine', () => {
  const spec = { options: ['kind', 'traits'], switches: ['json'] };

  it('a switch does not swallow the next word', () => {
    expect(parseCommandLine(['check', '--json', 'a >= 1', '--kind', 'segment'], spec)).toEqual({
      positional: ['check', 'a >= 1'],
      flags: { json: true, kind: 'segment' },
    });
    expect(parseCommandLine(['--json=false'], spec).flags.json).toBeUndefined();
  });

  it('rejects unknown options, missing values and values on switches', () => {
    expect(() => parseCommandLine(['--bogus'], spec)).toThrow(/unknown option --bogus/);
    expect(() => parseCommandLine(['--kind'], spec)).toThrow(/--kind needs a value/);
    expect(() => parseCommandLine(['--json=yes'], spec)).toThrow(UsageError);
  });

  it('--help and -h always parse', () => {
    expect(parseCommandLine(['--help', 'x'], spec)).toEqual({ positional: ['x'], flags: { help: true } });
    expect(parseCommandLine(['-h'], spec).flags.help).toBe(true);
  });

  it('typed option readers', () => {
    const a = parseCommandLine(['--kind', 'flag', '--traits', '7'], spec);
    expect(stringOption(a, 'kind')).toBe('flag');
    expect(stringOption(a, 'missing', 'dflt')).toBe('dflt');
    expect(intOption(a, 'traits', { fallback: 1, min: 1, max: 10 })).toBe(7);
    expect(intOption(a, 'absent', { fallback: 3, min: 1, max: 10 })).toBe(3);
    expect(() => intOption(a, 'traits', { fallback: 1, min: 1, max: 5 })).toThrow(/from 1 to 5/);
    expect(() => intOption(a, 'kind', { fallback: 1, min: 1, max: 5 })).toThrow(UsageError);
  });
});
