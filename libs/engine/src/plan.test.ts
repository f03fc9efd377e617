import { describe, expect, it } from 'vitest';
import type { Definition } from './definitions';
import {
  aggCmp,
  count,
  expr,
  firstSeen,
  lastProp,
  lastSeen,
  propAgg,
  tableCompiler,
  uniqueDays,
} from './internal/test-fixtures';
import { buildPlan, propertyIdOf, seriesIdOf } from './plan';
import { DAY_MS, HOUR_MS } from './window';

const table = {
  'events.purchase.count_30d >= 1': () => aggCmp('events.purchase.count_30d >= 1', count('purchase', '30d'), '>=', 1),
  'events.app_open.unique_days_14d >= 5': () =>
    aggCmp('events.app_open.unique_days_14d >= 5', uniqueDays('app_open', '14d'), '>=', 5),
  'events.purchase.count_1h >= 1': () => aggCmp('events.purchase.count_1h >= 1', count('purchase', '1h'), '>=', 1),
  'last_seen_minutes_ago < 1440': () => aggCmp('last_seen_minutes_ago < 1440', lastSeen(), '<', 1440),
  'events.purchase.last_seen_minutes_ago < 60': () =>
    aggCmp('events.purchase.last_seen_minutes_ago < 60', lastSeen('purchase'), '<', 60),
  'first_seen_days_ago > 3': () => aggCmp('first_seen_days_ago > 3', firstSeen(), '>', 3),
  'events.purchase.sum(properties.amount, 90d)': () =>
    expr('s', { type: 'number', aggregates: [propAgg('purchase', 'sum', 'amount', '90d')] }, (env) =>
      env.aggregate(propAgg('purchase', 'sum', 'amount', '90d')),
    ),
  'events.purchase.distinct_count(properties.sku, 7d) > 1': () =>
    aggCmp('d', propAgg('purchase', 'distinct_count', 'sku', '7d'), '>', 1),
  'events.purchase.last(properties.sku) == "x"': () =>
    expr('l', { aggregates: [lastProp('purchase', 'sku')] }, (env) => env.aggregate(lastProp('purchase', 'sku')) === 'x'),
  'profile.plan == "premium"': () =>
    expr('p', { profile: [['plan']] }, (env) => env.profile(['plan']) === 'premium'),
  'trait("a")': () => expr('ta', { type: 'any', traits: ['a'] }, (env) => env.trait('a')),
  'trait("b")': () => expr('tb', { type: 'any', traits: ['b'] }, (env) => env.trait('b')),
  'trait("c") == 1': () => expr('tc', { traits: ['c'] }, (env) => env.trait('c') === 1),
  'segment("s1")': () => expr('s1', { segments: ['s1'] }, (env) => env.segment('s1')),
  'segment("s2")': () => expr('s2', { segments: ['s2'] }, (env) => env.segment('s2')),
  'trait("freq") == true': () => expr('f', { traits: ['freq'] }, (env) => env.trait('freq') === true),
  'events.purchase.count_30d >= 3': () => aggCmp('c3', count('purchase', '30d'), '>=', 3),
};
const compile = tableCompiler(table);
const trait = (key: string, expression: string, version = 1): Definition => ({ kind: 'trait', key, expression, version });
const segment = (key: string, rule: string, version = 1): Definition => ({ kind: 'segment', key, rule, version });

describe('buildPlan', () => {
  it('derives series, units, longest windows, property stats and profile paths', () => {
    const { plan, problems } = buildPlan(
      [
        segment('buyers', 'events.purchase.count_30d >= 1'),
        segment('hourly', 'events.purchase.count_1h >= 1'),
        segment('active', 'events.app_open.unique_days_14d >= 5'),
        trait('total_spent', 'events.purchase.sum(properties.amount, 90d)'),
        segment('skus', 'events.purchase.distinct_count(properties.sku, 7d) > 1'),
        segment('lastsku', 'events.purchase.last(properties.sku) == "x"'),
        segment('premium', 'profile.plan == "premium"'),
        segment('recent', 'last_seen_minutes_ago < 1440'),
        segment('recent_buyer', 'events.purchase.last_seen_minutes_ago < 60'),
      ],
      { compile },
    );
    expect(problems).toEqual([]);
    const purchase = plan.seriesById.get(seriesIdOf('purchase', null))!;
    expect(purchase.units).toEqual({ d: 90, h: 1 });
    expect(purchase.seen).toBe(true);
    const amount = purchase.props.find((p) => p.id === propertyIdOf(['properties', 'amount']))!;
    expect(amount).toMatchObject({ numericUnits: ['d'], distinctUnits: [], last: false });
    const sku = purchase.props.find((p) => p.id === propertyIdOf(['properties', 'sku']))!;
    expect(sku).toMatchObject({ numericUnits: [], distinctUnits: ['d'], last: true });
    const appOpen = plan.seriesById.get(seriesIdOf('app_open', null))!;
    expect(appOpen).toMatchObject({ units: { d: 14 }, seen: false, props: [] });
    expect(plan.series).toHaveLength(2); // global last_seen needs no series
    expect(plan.profilePaths).toEqual([['plan']]);
    expect(plan.maxWindowMs).toBe(90 * DAY_MS);
    expect(plan.segmentsByKey.get('recent')!.timeDependent).toBe(true);
    expect(plan.segmentsByKey.get('premium')!.timeDependent).toBe(false);
    expect(plan.segmentsByKey.get('lastsku')!.timeDependent).toBe(false);
    expect(HOUR_MS).toBe(3_600_000);
  });

  it('has a stable planId that changes with definitions', () => {
    const a = buildPlan([segment('x', 'events.purchase.count_30d >= 1'), trait('t', 'events.purchase.count_30d >= 3')], { compile });
    const b = buildPlan([trait('t', 'events.purchase.count_30d >= 3'), segment('x', 'events.purchase.count_30d >= 1')], { compile });
    const c = buildPlan([segment('x', 'events.purchase.count_30d >= 1', 2), trait('t', 'events.purchase.count_30d >= 3')], { compile });
    expect(a.plan.planId).toBe(b.plan.planId);
    expect(a.plan.planId).not.toBe(c.plan.planId);
    expect(a.plan.planId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('series ids are stable across plans and short', () => {
    const a = buildPlan([segment('x', 'events.purchase.count_30d >= 1')], { compile });
    const b = buildPlan([segment('y', 'events.purchase.count_1h >= 1'), segment('z', 'events.app_open.unique_days_14d >= 5')], { compile });
    expect(a.plan.series[0]!.id).toBe(b.plan.seriesById.get(seriesIdOf('purchase', null))!.id);
    expect(a.plan.series[0]!.id.length).toBeLessThanOrEqual(7);
  });

  it('orders traits topologically and resolves trait dependencies of segments', () => {
    const { plan, problems } = buildPlan(
      [segment('fb', 'trait("freq") == true'), trait('freq', 'events.purchase.count_30d >= 3')],
      { compile },
    );
    expect(problems).toEqual([]);
    expect(plan.traits.map((t) => t.key)).toEqual(['freq']);
    expect(plan.segments.map((s) => s.key)).toEqual(['fb']);
    expect(plan.segmentsByKey.get('fb')!.timeDependent).toBe(true);
    expect(plan.segmentsByKey.get('fb')!.timeRefs.map((r) => r.id)).toEqual([count('purchase', '30d').id]);
    expect(plan.traitsByKey.get('freq')!.type).toBe('boolean');
  });

  it('reports cycles and excludes them and their dependents', () => {
    const { plan, problems } = buildPlan(
      [
        trait('a', 'trait("b")'),
        trait('b', 'trait("a")'),
        trait('c', 'trait("a")'),
        segment('s1', 'segment("s2")'),
        segment('s2', 'segment("s1")'),
        segment('ok', 'events.purchase.count_30d >= 1'),
      ],
      { compile },
    );
    expect(plan.traits).toEqual([]);
    expect(plan.segments.map((s) => s.key)).toEqual(['ok']);
    const byKey = Object.fromEntries(problems.map((p) => [`${p.kind}:${p.key}`, p.diagnostics[0]!.code]));
    expect(byKey).toEqual({
      'trait:a': 'cycle',
      'trait:b': 'cycle',
      'segment:s1': 'cycle',
      'segment:s2': 'cycle',
      'trait:c': 'unknown_trait',
    });
  });

  it('reports compile errors and keeps the rest', () => {
    const { plan, problems } = buildPlan(
      [segment('bad', 'nonsense'), segment('ok', 'events.purchase.count_30d >= 1')],
      { compile },
    );
    expect(problems.map((p) => p.key)).toEqual(['bad']);
    expect(plan.segments.map((s) => s.key)).toEqual(['ok']);
  });

  it('keeps the highest version of a duplicated definition', () => {
    const { plan } = buildPlan(
      [segment('x', 'events.purchase.count_30d >= 1', 3), segment('x', 'events.purchase.count_1h >= 1', 2)],
      { compile },
    );
    expect(plan.segments[0]!.version).toBe(3);
  });

  it('compiles flags and includes their aggregates in the needs', () => {
    const { plan, problems } = buildPlan(
      [
        {
          kind: 'flag',
          key: 'f',
          enabled: true,
          valueType: 'boolean',
          default: false,
          version: 1,
          rules: [{ when: 'first_seen_days_ago > 3', value: true, rollout: 50 }, { when: 'events.purchase.count_1h >= 1', value: true }],
        },
        { kind: 'flag', key: 'broken', enabled: true, valueType: 'boolean', default: false, version: 1, rules: [{ when: '??', value: true }] },
      ],
      { compile },
    );
    expect(problems.map((p) => `${p.kind}:${p.key}`)).toEqual(['flag:broken']);
    const f = plan.flagsByKey.get('f')!;
    expect(f.rules.map((r) => r.rollout)).toEqual([50, null]);
    expect(plan.seriesById.get(seriesIdOf('purchase', null))!.units).toEqual({ h: 1 });
  });
});
