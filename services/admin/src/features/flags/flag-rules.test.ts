import { describe, expect, it } from 'vitest';
import { parseFlagCreate, parseFlagReplace } from './flag-rules';

describe('flag bodies', () => {
  it('normalizes the seed form {key, rule}', () => {
    expect(parseFlagCreate({ key: 'premium_features', rule: 'segment("vip_users")' })).toEqual({
      kind: 'flag',
      key: 'premium_features',
      enabled: true,
      valueType: 'boolean',
      rules: [{ when: 'segment("vip_users")', value: true }],
      default: false,
    });
  });
  it('accepts the full form and fills defaults', () => {
    expect(
      parseFlagCreate({
        key: 'checkout',
        valueType: 'string',
        rules: [{ when: 'segment("vip_users")', value: 'fast', rollout: 50 }],
        default: 'classic',
        description: 'd',
      }),
    ).toEqual({
      kind: 'flag',
      key: 'checkout',
      enabled: true,
      valueType: 'string',
      rules: [{ when: 'segment("vip_users")', value: 'fast', rollout: 50 }],
      default: 'classic',
      description: 'd',
    });
    expect(parseFlagCreate({ key: 'f', rules: [] })).toMatchObject({ valueType: 'boolean', default: false, enabled: true });
    expect(parseFlagCreate({ key: 'f', enabled: false, valueType: 'object', rules: [{ when: 'true', value: { a: 1 } }], default: {} })).toMatchObject({
      enabled: false,
      default: {},
    });
  });
  it.each([
    [{ key: 'f', rule: 'true', rules: [] }, 'rule'],
    [{ key: 'f', valueType: 'string', rules: [] }, 'default'],
    [{ key: 'f', valueType: 'number', rules: [], default: 'x' }, 'default'],
    [{ key: 'f', valueType: 'number', rules: [{ when: 'true', value: '1' }], default: 1 }, 'rules[0].value'],
    [{ key: 'f', valueType: 'object', rules: [{ when: 'true', value: [1] }], default: {} }, 'rules[0].value'],
    [{ key: 'f', rules: [{ when: 'true', value: true, rollout: 101 }] }, 'rules.0.rollout'],
    [{ key: 'f', rules: [{ when: '', value: true }] }, 'rules.0.when'],
    [{ key: 'f', valueType: 'date', rules: [] }, 'valueType'],
    [{ key: 'f', rule: 'true', extra: 1 }, '(body)'],
    [{ key: 'Bad', rule: 'true' }, 'key'],
    [{ rule: 'true' }, 'key'],
  ])('rejects %j naming %s', (body, field) => {
    expect(() => parseFlagCreate(body)).toThrow(expect.objectContaining({ code: 'validation_failed', details: expect.objectContaining({ field }) }));
  });
  it('PUT takes the key from the path and accepts version', () => {
    expect(parseFlagReplace('f', { rule: 'true', version: 2 })).toMatchObject({ key: 'f', rules: [{ when: 'true', value: true }] });
    expect(() => parseFlagReplace('f', { key: 'g', rule: 'true' })).toThrow(expect.objectContaining({ details: { field: 'key' } }));
  });
});
