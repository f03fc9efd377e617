import { describe, expect, it } from 'vitest';
import { applyEvents } from './apply';
import { evaluateProfile } from './evaluate';
import { canMerge, mergeProfiles } from './identity';
import { readAggregate } from './internal/aggregates';
import { aggCmp, count, ev, expr, identify, lastProp, lastSeen, ms, propAgg, tableCompiler, track } from './internal/test-fixtures';
import { buildPlan } from './plan';
import { emptyProfile } from './state';

const refs = [count('purchase', '30d'), propAgg('purchase', 'sum', 'amount', '30d'), propAgg('purchase', 'distinct_count', 'sku', '30d'), lastProp('purchase', 'sku'), lastSeen('purchase')];
const { plan } = buildPlan(
  [
    { kind: 'trait', key: 'all', expression: 'all', version: 1 },
    { kind: 'segment', key: 'buyer', rule: 'buyer', version: 1 },
  ],
  {
    compile: tableCompiler({
      all: () => expr('all', { type: 'any', aggregates: refs, profile: [['plan'], ['email']] }, () => null),
      buyer: () => aggCmp('buyer', count('purchase', '30d'), '>=', 2),
    }),
  },
);
const now = ms('2024-03-10T12:00:00Z');

describe('canMerge', () => {
  it('only anonymous sources merge, never into themselves', () => {
    expect(canMerge({ id: 'u1' }, { id: 'anon', userId: null })).toBe(true);
    expect(canMerge({ id: 'u1' }, { id: 'u2', userId: 'u2' })).toBe(false);
    expect(canMerge({ id: 'anon' }, { id: 'anon', userId: null })).toBe(false);
  });
});

describe('mergeProfiles', () => {
  it('sums buckets and stats, min first seen, max last seen, target properties win', () => {
    const anon = applyEvents(
      emptyProfile('anon-1'),
      [
        ev({ type: 'track', event: 'purchase', userId: null, anonymousId: 'anon-1', timestamp: '2024-03-01T10:00:00Z', properties: { amount: 5, sku: 'a' } }),
        ev({ type: 'track', event: 'purchase', userId: null, anonymousId: 'anon-1', timestamp: '2024-03-10T11:00:00Z', properties: { amount: 7, sku: 'z' } }),
        ev({ type: 'identify', userId: null, anonymousId: 'anon-1', timestamp: '2024-03-01T10:00:00Z', traits: { plan: 'free', email: 'a@x' } }),
      ],
      plan,
      now,
    );
    expect(anon.userId).toBeNull();
    const user = applyEvents(
      emptyProfile('u1'),
      [
        track('purchase', '2024-03-01T08:00:00Z', { amount: 10, sku: 'a' }),
        track('purchase', '2024-03-05T08:00:00Z', { amount: 20, sku: 'b' }),
        identify('2024-03-05T08:00:00Z', { plan: 'premium' }),
      ],
      plan,
      now,
    );
    const r0 = evaluateProfile(user, plan, now, 'event');
    expect(canMerge(r0.state, anon)).toBe(true);
    const merged = mergeProfiles(r0.state, anon, plan, now);
    expect(readAggregate(merged, refs[0]!, now)).toBe(4);
    expect(readAggregate(merged, refs[1]!, now)).toBe(42);
    expect(readAggregate(merged, refs[2]!, now)).toBe(3);
    expect(readAggregate(merged, refs[3]!, now)).toBe('z');
    expect(readAggregate(merged, refs[4]!, now)).toBe(60);
    expect(merged.firstSeen).toBe(ms('2024-03-01T08:00:00Z'));
    expect(merged.lastSeen).toBe(ms('2024-03-10T11:00:00Z'));
    expect(merged.properties.plan!.value).toBe('premium');
    expect(merged.properties.email!.value).toBe('a@x');
    expect(merged.anonymousIds).toEqual({ 'anon-1': ms('2024-03-01T10:00:00Z') });
    expect(merged.id).toBe('u1');
    expect(merged.userId).toBe('u1');
    expect(merged.sequence).toBe(r0.state.sequence);
    expect(merged.segments).toEqual(r0.state.segments);
    // inputs untouched
    expect(readAggregate(anon, refs[0]!, now)).toBe(2);
    expect(readAggregate(r0.state, refs[0]!, now)).toBe(2);
    const r1 = evaluateProfile(merged, plan, now, 'merge');
    expect(r1.changes).toEqual([]); // already a buyer
  });

  it('merging into an empty identified profile equals the anonymous data', () => {
    const anon = applyEvents(emptyProfile('anon-2'), [ev({ type: 'track', event: 'purchase', userId: null, anonymousId: 'anon-2', timestamp: '2024-03-09T10:00:00Z', properties: { amount: 1 } }), ev({ type: 'track', event: 'purchase', userId: null, anonymousId: 'anon-2', timestamp: '2024-03-09T11:00:00Z' })], plan, now);
    const merged = mergeProfiles({ ...emptyProfile('u9'), userId: 'u9' }, anon, plan);
    expect(merged.series).toEqual(anon.series);
    const r = evaluateProfile(merged, plan, now, 'merge');
    expect(r.changes.map((c) => [c.profileId, c.userId, c.segment, c.status, c.reason])).toEqual([['u9', 'u9', 'buyer', 'entered', 'merge']]);
  });
});
