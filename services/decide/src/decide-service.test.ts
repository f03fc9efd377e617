import { describe, expect, it } from 'vitest';
import { AppError } from '@tinycdp/common';
import { buildPlan, emptyProfile, encodeProfile, type Definition, type FlagDefinition } from '@tinycdp/engine';
import { decideFor, errorDecision, selectFlags } from './decide-service';
import type { FlagSnapshot } from './flag-cache';

const flag = (key: string, over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  kind: 'flag',
  key,
  enabled: true,
  valueType: 'boolean',
  rules: [],
  default: false,
  version: 1,
  ...over,
});

function snapshot(defs: Definition[]): FlagSnapshot {
  const { plan, problems } = buildPlan(defs);
  const flags = new Map(defs.filter((d): d is FlagDefinition => d.kind === 'flag').map((d) => [d.key, d]));
  return { plan, flags, flagKeys: [...flags.keys()].sort(), etag: 'e', problems, loadedAt: 0, stateLost: false };
}

const profile = (fields: Record<string, string> = {}) => ({
  target: { kind: 'user' as const, userId: 'u1' },
  profileId: 'u1',
  userId: 'u1',
  anonymousId: null,
  fields,
});

describe('selectFlags', () => {
  const s = snapshot([flag('b'), flag('a')]);
  it('every flag in key order, or the ones asked in the order asked', () => {
    expect(selectFlags(s, null).map((f) => f.key)).toEqual(['a', 'b']);
    expect(selectFlags(s, ['b', 'a']).map((f) => f.key)).toEqual(['b', 'a']);
  });
  it('unknown flags are not_found with FLAG_NOT_FOUND details', () => {
    try {
      selectFlags(s, ['a', 'nope']);
      expect.fail('should throw');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('not_found');
      expect((err as AppError).details).toEqual({ errorCode: 'FLAG_NOT_FOUND', flags: ['nope'] });
    }
  });
});

describe('decideFor', () => {
  it('evaluates context rules, defaults and disabled flags on an empty profile', () => {
    const s = snapshot([
      flag('by_country', { rules: [{ when: 'context.country == "DE"', value: true }] }),
      flag('off', { enabled: false, default: true }),
      flag('color', { valueType: 'string', default: 'red', rules: [{ when: 'profile.plan == "premium"', value: 'gold' }] }),
    ]);
    const ds = decideFor(s, selectFlags(s, null), profile(), { country: 'DE' }, Date.now());
    expect(ds.map((d) => [d.flag, d.value, d.reason])).toEqual([
      ['by_country', true, 'TARGETING_MATCH'],
      ['color', 'red', 'DEFAULT'],
      ['off', true, 'DISABLED'],
    ]);
  });

  it('reads the stored profile', () => {
    const s = snapshot([flag('color', { valueType: 'string', default: 'red', rules: [{ when: 'profile.plan == "premium"', value: 'gold' }] })]);
    const st = emptyProfile('u1');
    st.properties['plan'] = { at: 1, value: 'premium' };
    const ds = decideFor(s, selectFlags(s, ['color']), profile({ ...encodeProfile(st) }), {}, Date.now());
    expect(ds[0]).toMatchObject({ value: 'gold', reason: 'TARGETING_MATCH', ruleIndex: 0 });
  });

  it('a flag excluded from the plan answers default/ERROR', () => {
    const s = snapshot([flag('broken', { default: true, rules: [{ when: 'segment("missing")', value: false }] })]);
    expect(s.plan.flagsByKey.has('broken')).toBe(false);
    expect(decideFor(s, selectFlags(s, null), profile(), {}, 0)).toEqual([errorDecision(s.flags.get('broken')!)]);
    expect(errorDecision(s.flags.get('broken')!)).toMatchObject({ value: true, enabled: true, reason: 'ERROR' });
  });
});
