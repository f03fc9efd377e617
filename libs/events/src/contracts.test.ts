import { describe, expect, it } from 'vitest';
import { validateDefinitionValue, validateSegmentChange } from './contracts';

describe('topic schemas', () => {
  it('segment changes', () => {
    const good = { profileId: 'u1', userId: 'u1', segment: 'vip', status: 'entered', at: '2024-05-01T00:00:00Z', reason: 'event', sequence: 3 };
    expect(validateSegmentChange(good)).toEqual({ ok: true });
    expect(validateSegmentChange({ ...good, userId: null })).toEqual({ ok: true });
    const bad = validateSegmentChange({ ...good, status: 'joined', sequence: -1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.path)).toEqual(['status', 'sequence']);
  });

  it('definitions', () => {
    expect(validateDefinitionValue({ kind: 'trait', key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3', version: 1 })).toEqual({ ok: true });
    expect(validateDefinitionValue({ kind: 'segment', key: 'vip_users', rule: 'frequent_buyer == true', version: 2 })).toEqual({ ok: true });
    expect(
      validateDefinitionValue({
        kind: 'flag', key: 'premium_features', enabled: true, valueType: 'boolean',
        rules: [{ when: 'segment("vip_users")', value: true, rollout: 50 }], default: false, version: 1,
      }),
    ).toEqual({ ok: true });
    expect(validateDefinitionValue({ kind: 'flag', key: 'f', enabled: true, valueType: 'boolean', rules: [{ when: 'x', value: 1, rollout: 101 }], default: false, version: 1 }).ok).toBe(false);
    expect(validateDefinitionValue({ kind: 'trait', key: 'x', version: 1 }).ok).toBe(false);
  });
});
