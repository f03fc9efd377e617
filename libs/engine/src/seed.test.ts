/**
 * The seed forms from ARCHITECTURE.md, end to end through the real DSL: plan → apply → evaluate →
 * time-driven changes → codec.
 */
import { FakeClock } from '@tinycdp/common';
import { describe, expect, it } from 'vitest';
import { applyEvents } from './apply';
import { decodeProfile, encodeProfile, encodedFieldsDiff } from './codec';
import type { Definition } from './definitions';
import { evaluateProfile, type SegmentChange } from './evaluate';
import { evaluateFlag } from './flags';
import { identify, ms, track } from './internal/test-fixtures';
import { buildPlan } from './plan';
import { emptyProfile, type ProfileState } from './state';
import { evaluateExpression, profileView } from './view';
import { DAY_MS, MINUTE_MS } from './window';
import { compile } from '@tinycdp/dsl';

const t = (key: string, expression: string): Definition => ({ kind: 'trait', key, expression, version: 1 });
const s = (key: string, rule: string): Definition => ({ kind: 'segment', key, rule, version: 1 });

const seedDefs: Definition[] = [
  s('buyers', 'events.purchase.count_30d >= 1'),
  s('active', 'events.app_open.unique_days_14d >= 5'),
  s('recently_seen', 'last_seen_minutes_ago < 1440'),
  s('paying_plan', 'profile.plan in ["premium", "enterprise"]'),
  s('engaged_buyers', 'events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3'),
  t('frequent_buyer', 'events.purchase.count_30d >= 3'),
  s('frequent', 'frequent_buyer == true'),
  s('vip_users', 'trait("frequent_buyer") == true'),
  t('total_spent', 'events.purchase.sum(properties.amount, 90d)'),
  s('high_value', 'trait("total_spent") >= 500'),
  s('vip_high_value', 'segment("vip_users") && segment("high_value")'),
  {
    kind: 'flag',
    key: 'new_checkout',
    enabled: true,
    valueType: 'boolean',
    default: false,
    version: 3,
    rules: [{ when: 'segment("vip_high_value")', value: true }, { when: 'events.purchase.count_30d >= 1', value: true, rollout: 50 }],
  },
];

function seedPlan() {
  const r = buildPlan(seedDefs);
  expect(r.problems).toEqual([]);
  return r.plan;
}

/** 30 days of activity: two app opens a day, a purchase a day (two on even days), one identify. */
function thirtyDays(start: string) {
  const events = [identify(`${start}T08:00:00Z`, { plan: 'premium', email: 'ann@example.com' })];
  for (let d = 0; d < 30; d++) {
    const day = new Date(ms(`${start}T00:00:00Z`) + d * DAY_MS).toISOString().slice(0, 10);
    events.push(track('app_open', `${day}T08:15:00Z`), track('app_open', `${day}T19:40:00Z`));
    events.push(track('purchase', `${day}T12:00:00Z`, { amount: 19.99, sku: `sku-${d % 4}` }));
    if (d % 2 === 0) events.push(track('purchase', `${day}T13:30:00Z`, { amount: 4.5 }));
  }
  return events;
}

describe('seed definitions', () => {
  it('compile into one plan with the expected needs', () => {
    const plan = seedPlan();
    expect(plan.traits.map((x) => x.key)).toEqual(['frequent_buyer', 'total_spent']);
    expect(plan.series.map((x) => [x.event, x.units])).toEqual(
      expect.arrayContaining([
        ['purchase', { d: 90 }],
        ['app_open', { d: 14 }],
      ]),
    );
    expect(plan.profilePaths).toEqual([['plan']]);
    expect(plan.maxWindowMs).toBe(90 * DAY_MS);
    const order = plan.segments.map((x) => x.key);
    expect(order.indexOf('vip_high_value')).toBeGreaterThan(order.indexOf('vip_users'));
    expect(order.indexOf('vip_high_value')).toBeGreaterThan(order.indexOf('high_value'));
    expect(plan.segmentsByKey.get('high_value')!.timeDependent).toBe(true); // through total_spent
  });

  it('reports a cycle between traits', () => {
    const r = buildPlan([t('a', 'trait("b") + 1'), t('b', 'trait("a") + 1'), s('ok', 'events.purchase.count_30d >= 1')]);
    expect(r.problems.map((p) => [p.key, p.diagnostics[0]!.code])).toEqual([
      ['a', 'cycle'],
      ['b', 'cycle'],
    ]);
    expect(r.plan.segments.map((x) => x.key)).toEqual(['ok']);
  });

  it('30 days of activity: traits, memberships, flags, then everyone leaves as time passes', () => {
    const plan = seedPlan();
    const clock = new FakeClock('2024-02-15T20:00:00Z'); // the scenario spans the 2024 leap day
    const events = thirtyDays('2024-01-17');
    const r = evaluateProfile(applyEvents(emptyProfile('u1'), events, plan, clock.now()), plan, clock.now(), 'event');
    expect(r.traits.frequent_buyer).toBe(true);
    expect(r.traits.total_spent).toBeCloseTo(30 * 19.99 + 15 * 4.5, 6);
    expect(Object.keys(r.state.segments).sort()).toEqual(
      ['active', 'buyers', 'engaged_buyers', 'frequent', 'high_value', 'paying_plan', 'recently_seen', 'vip_high_value', 'vip_users'].sort(),
    );
    expect(r.changes.map((c) => c.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // the earliest time-driven change: last seen 19:40 + 24h → recently_seen exits at 2024-02-16T19:40Z
    expect(r.nextDueAt).toBe(ms('2024-02-16T19:40:00Z'));

    const view = profileView(r.state, plan, clock.now());
    expect(evaluateFlag(plan.flagsByKey.get('new_checkout')!, view, 'u1')).toEqual({
      flag: 'new_checkout',
      value: true,
      enabled: true,
      reason: 'TARGETING_MATCH',
      ruleIndex: 0,
      version: 3,
    });
    const probe = evaluateExpression(compileOk('events.purchase.count_30d >= 1 && profile.plan == "premium"'), r.state, plan, clock.now());
    expect(probe).toEqual({ value: true, inputs: { 'events.purchase.count_30d': 45, 'profile.plan': 'premium' } });

    // Drive time like the processor: re-evaluate at each nextDueAt, no new events.
    let state: ProfileState = r.state;
    let due = r.nextDueAt;
    const timeline: string[] = [];
    const all: SegmentChange[] = [...r.changes];
    let steps = 0;
    while (due !== null && steps++ < 500) {
      clock.set(due);
      const next = evaluateProfile(state, plan, clock.now(), 'time');
      for (const c of next.changes) timeline.push(`${c.at} ${c.status} ${c.segment}`);
      all.push(...next.changes);
      expect(next.nextDueAt === null || next.nextDueAt > clock.now()).toBe(true);
      state = next.state;
      due = next.nextDueAt;
    }
    expect(timeline).toEqual([
      '2024-02-16T19:40:00.000Z exited recently_seen',
      // app_open days Jan 17..Feb 15: 7d window holds ≥3 opens until only Feb 15 is left (Feb 21)
      '2024-02-21T00:00:00.000Z exited engaged_buyers',
      // unique_days_14d ≥ 5 until fewer than 5 of Feb 11..15 remain: Feb 11 leaves at Feb 25
      '2024-02-25T00:00:00.000Z exited active',
      // count_30d ≥ 3: purchases on Feb 13 (1), Feb 14 (2), Feb 15 (1): drops below 3 when Feb 14 leaves
      '2024-03-15T00:00:00.000Z exited frequent',
      '2024-03-15T00:00:00.000Z exited vip_users',
      '2024-03-15T00:00:00.000Z exited vip_high_value',
      '2024-03-16T00:00:00.000Z exited buyers',
      // total_spent (90d) < 500 once enough days leave
      expect.stringMatching(/^2024-04-\d\dT00:00:00.000Z exited high_value$/),
    ]);
    expect(Object.keys(state.segments)).toEqual(['paying_plan']);
    expect(all.map((c) => c.sequence)).toEqual(all.map((_, i) => i + 1));
  });

  it('last_seen_minutes_ago < 5: due 5 minutes after the last event (±1 min)', () => {
    const plan = buildPlan([s('just_active', 'last_seen_minutes_ago < 5')]).plan;
    const at = ms('2024-12-31T23:58:40Z');
    const r = evaluateProfile(applyEvents(emptyProfile('u1'), [track('x', '2024-12-31T23:58:40Z')], plan, at), plan, at, 'event');
    expect(Math.abs(r.nextDueAt! - (at + 5 * MINUTE_MS))).toBeLessThanOrEqual(MINUTE_MS);
    const later = evaluateProfile(r.state, plan, r.nextDueAt!, 'time');
    expect(later.changes.map((c) => c.status)).toEqual(['exited']);
  });

  it('a purchase at 10:00 with a count_1h rule is due at the next hour boundary', () => {
    const plan = buildPlan([s('hot', 'events.purchase.count_1h >= 1')]).plan;
    const at = ms('2024-03-31T23:00:00Z');
    const r = evaluateProfile(applyEvents(emptyProfile('u1'), [track('purchase', '2024-03-31T23:00:00Z')], plan, at), plan, at, 'event');
    expect(r.nextDueAt).toBe(ms('2024-04-01T00:00:00Z'));
  });

  it('bracket event names and where filters', () => {
    const plan = buildPlan([s('big_orders', 'events["Order Completed"].where(properties.total > 100).count_7d >= 2')]).plan;
    const now = ms('2024-03-10T12:00:00Z');
    const st = applyEvents(
      emptyProfile('u1'),
      [
        track('Order Completed', '2024-03-09T10:00:00Z', { total: 150 }),
        track('Order Completed', '2024-03-09T11:00:00Z', { total: 50 }),
        track('Order Completed', '2024-03-10T10:00:00Z', { total: 300 }),
      ],
      plan,
      now,
    );
    expect(evaluateProfile(st, plan, now, 'event').changes.map((c) => c.segment)).toEqual(['big_orders']);
  });

  it('codec: a 30-day seed profile fits a listpack hash (≤ 128 fields, values ≤ 64 bytes) and round-trips', () => {
    const plan = seedPlan();
    const now = ms('2024-02-15T20:00:00Z');
    const r = evaluateProfile(applyEvents(emptyProfile('u1'), thirtyDays('2024-01-17'), plan, now), plan, now, 'event');
    const fields = encodeProfile(r.state);
    expect(Object.keys(fields).length).toBeLessThanOrEqual(128);
    for (const [k, v] of Object.entries(fields)) {
      expect(Buffer.byteLength(k), k).toBeLessThanOrEqual(64);
      expect(Buffer.byteLength(v), `${k}=${v}`).toBeLessThanOrEqual(64);
    }
    expect(decodeProfile(fields, 'u1')).toEqual(r.state);
    // one more purchase changes only a few fields
    const r2 = evaluateProfile(applyEvents(r.state, [track('purchase', '2024-02-15T20:30:00Z', { amount: 1 })], plan, now + 1), plan, now + 1, 'event');
    const diff = encodedFieldsDiff(fields, encodeProfile(r2.state));
    expect(Object.keys(diff.set).length).toBeLessThanOrEqual(5);
    expect(diff.del).toEqual([]);
  });
});

function compileOk(src: string) {
  const plan = seedPlan();
  const r = compile(src, {
    kind: 'segment',
    traits: new Map(plan.traits.map((x) => [x.key, x.type])),
    segments: new Set(plan.segments.map((x) => x.key)),
  });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.expr;
}
