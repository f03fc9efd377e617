import { describe, expect, it } from 'vitest';
import { emptyProfile, encodeProfile } from '@tinycdp/engine';
import { StateCache } from './state-cache';

const fieldsWith = (plan: string) => {
  const s = emptyProfile('u');
  s.userId = 'u';
  s.properties['plan'] = { at: 1, value: plan };
  return encodeProfile(s);
};

const stateOf = (c: StateCache, id: string, fields: Record<string, string>) => c.decode(id, fields).state;

describe('StateCache', () => {
  it('reuses the decoded state only while the fields are exactly the same', () => {
    const c = new StateCache(10);
    const a = stateOf(c, 'u', fieldsWith('free'));
    expect(stateOf(c, 'u', { ...fieldsWith('free') })).toBe(a);
    const b = stateOf(c, 'u', fieldsWith('premium'));
    expect(b).not.toBe(a);
    expect(b.properties['plan']?.value).toBe('premium');
    const extra = stateOf(c, 'u', { ...fieldsWith('premium'), q: '3' });
    expect(extra).not.toBe(b);
    expect(extra.sequence).toBe(3);
    expect(stateOf(c, 'u', fieldsWith('premium'))).not.toBe(extra); // a field removed
    expect([c.hits, c.misses]).toEqual([1, 4]);
  });

  it('with a write id (`_w`), the write id alone says whether the state is the same; held() offers it', () => {
    const c = new StateCache(10);
    const a = stateOf(c, 'u', { ...fieldsWith('free'), _w: 'w1' });
    // Same write id: the same state even though this copy of the fields differs (compared by id only).
    expect(stateOf(c, 'u', { ...fieldsWith('premium'), _w: 'w1' })).toBe(a);
    const b = stateOf(c, 'u', { ...fieldsWith('free'), _w: 'w2' });
    expect(b).not.toBe(a);
    const held = c.held('u')!;
    expect(held.writeId).toBe('w2');
    expect(held.state).toBe(b);
    expect(c.reuse(held).state).toBe(b);
    expect([c.hits, c.misses]).toEqual([2, 2]);
    // A hash without a write id is never held (its fields must be compared).
    stateOf(c, 'legacy', fieldsWith('free'));
    expect(c.held('legacy')).toBeUndefined();
    expect(new StateCache(0).held('u')).toBeUndefined();
  });

  it('is bounded and does not keep empty profiles', () => {
    const c = new StateCache(2);
    c.decode('x', {});
    expect(c.size).toBe(0);
    for (const id of ['a', 'b', 'c']) stateOf(c, id, fieldsWith(id));
    expect(c.size).toBe(2);
    const a2 = stateOf(c, 'a', fieldsWith('a'));
    expect(stateOf(c, 'a', fieldsWith('a'))).toBe(a2);
  });

  it('keys by profile id (same fields, different ids → different states)', () => {
    const c = new StateCache(10);
    expect(stateOf(c, 'a', fieldsWith('p')).id).toBe('a');
    expect(stateOf(c, 'b', fieldsWith('p')).id).toBe('b');
  });
});
