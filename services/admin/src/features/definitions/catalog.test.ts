import { describe, expect, it } from 'vitest';
import { Catalog } from './catalog';
import type { DefinitionDraft } from './definition-draft';

const trait = (key: string, expression: string): DefinitionDraft => ({ kind: 'trait', key, expression });
const segment = (key: string, rule: string): DefinitionDraft => ({ kind: 'segment', key, rule });
const flag = (key: string, rule: string): DefinitionDraft => ({
  kind: 'flag',
  key,
  enabled: true,
  valueType: 'boolean',
  rules: [{ when: rule, value: true }],
  default: false,
});

describe('Catalog', () => {
  const defs = [
    trait('total_spent', 'events.purchase.count_30d'),
    trait('frequent_buyer', 'events.purchase.count_30d >= 3'),
    trait('alias', 'total_spent'),
    segment('vip_users', 'frequent_buyer == true'),
    segment('high_value', 'trait("total_spent") >= 500'),
    flag('premium_features', 'segment("vip_users") && segment("high_value")'),
  ];
  const c = new Catalog(defs);

  it('types traits in dependency order', () => {
    expect(c.traitTypes().get('total_spent')).toBe('number');
    expect(c.traitTypes().get('frequent_buyer')).toBe('boolean');
    expect(c.traitTypes().get('alias')).toBe('number');
  });

  it('finds users of a definition', () => {
    expect(c.usersOf('trait', 'frequent_buyer')).toEqual([{ kind: 'segment', key: 'vip_users' }]);
    expect(c.usersOf('segment', 'vip_users')).toEqual([{ kind: 'flag', key: 'premium_features' }]);
    expect(c.usersOf('trait', 'total_spent')).toEqual([
      { kind: 'segment', key: 'high_value' },
      { kind: 'trait', key: 'alias' },
    ]);
    expect(c.usersOf('flag', 'premium_features')).toEqual([]);
  });

  it('checks expressions with diagnostics and requirements', () => {
    const ok = c.checkExpression('segment', 'frequent_buyer == true && segment("vip_users")', 'rule', 'x');
    expect(ok).toMatchObject({ valid: true, type: 'boolean', requirements: { traits: ['frequent_buyer'], segments: ['vip_users'] } });
    const bad = c.checkExpression('segment', 'events.purchase.count_30d >= ', 'rule');
    expect(bad.valid).toBe(false);
    expect(bad.diagnostics[0]).toMatchObject({ field: 'rule', code: 'unexpected_end', line: 1 });
    expect(bad.diagnostics[0]!.rendered).toContain('^');
    const notBool = c.checkExpression('segment', 'total_spent', 'rule');
    expect(notBool.valid).toBe(false);
    expect(notBool.requirements).toMatchObject({ traits: ['total_spent'] });
    const unknown = c.checkExpression('flag', 'segment("nope")', 'rules[0].when');
    expect(unknown.diagnostics.map((d) => d.code)).toContain('unknown_segment');
  });

  it('detects cycles through a definition', () => {
    const cyc = new Catalog([trait('a', 'b + 1'), trait('b', 'a + 1'), trait('c', 'a')]);
    expect(cyc.cycleThrough('trait', 'a')).toEqual(['trait:a', 'trait:b', 'trait:a']);
    expect(cyc.cycleThrough('trait', 'c')).toBeNull();
    const segs = new Catalog([segment('s1', 'segment("s2")'), segment('s2', 'segment("s1")')]);
    expect(segs.cycleThrough('segment', 's2')).toEqual(['segment:s2', 'segment:s1', 'segment:s2']);
  });
});
