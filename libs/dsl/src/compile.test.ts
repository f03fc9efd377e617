import { describe, expect, it } from 'vitest';
import { compile, compileAst, parse, requirementsOf } from './index';
import { fakeEnv, type FakeData } from './internal/fake-env';
import { seedContext } from './internal/test-utils';
import type { CheckContext, CompiledExpression, EvalEnv, Value } from './types';

function compiled(source: string, ctx: CheckContext = seedContext('trait')): CompiledExpression {
  const r = compile(source, ctx);
  if (!r.ok) throw new Error(`${source}: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return r.expr;
}
function run(source: string, data: FakeData = {}, ctx?: CheckContext): Value {
  return compiled(source, ctx).evaluate(fakeEnv(data));
}

const ACTIVE: FakeData = {
  aggregates: {
    'events.purchase.count_30d': 4,
    'events.app_open.unique_days_14d': 6,
    'events.app_open.count_7d': 3,
    last_seen_minutes_ago: 30,
  },
  profile: { plan: 'premium' },
  traits: { frequent_buyer: true, total_spent: 750 },
  segments: { vip_users: true, high_value: true, power_users: false },
};
const INACTIVE: FakeData = {
  aggregates: {
    'events.purchase.count_30d': 0,
    'events.app_open.unique_days_14d': 2,
    'events.app_open.count_7d': 1,
    last_seen_minutes_ago: 5000,
  },
  profile: { plan: 'free' },
  traits: { frequent_buyer: false, total_spent: 20 },
  segments: { vip_users: true, high_value: false },
};

describe('seed forms evaluate', () => {
  it.each([
    ['events.purchase.count_30d >= 1', true, false, null],
    ['events.app_open.unique_days_14d >= 5', true, false, null],
    ['last_seen_minutes_ago < 1440', true, false, null],
    ['profile.plan in ["premium", "enterprise"]', true, false, null],
    ['events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3', true, false, null],
    ['frequent_buyer == true', true, false, null],
    ['segment("vip_users") && segment("high_value")', true, false, null],
    ['trait("frequent_buyer") == true', true, false, null],
    ['trait("total_spent") >= 500', true, false, null],
    ['segment("power_users")', false, false, null],
    ['events.purchase.count_30d >= 3', true, false, null],
  ])('%s', (src, active, inactive) => {
    const e = compiled(src, seedContext('segment'));
    expect(e.type).toBe('boolean');
    expect(e.evaluate(fakeEnv(ACTIVE))).toBe(active);
    expect(e.evaluate(fakeEnv(INACTIVE))).toBe(inactive);
    // Nothing known about the profile: every seed rule is false.
    expect(e.evaluate(fakeEnv({}))).toBe(false);
  });
});

describe('operators', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['7 % 4', 3],
    ['-2 * 3', -6],
    ['-(2 + 3)', -5],
    ['1 / 4', 0.25],
    ['1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3', true],
    ['"a" < "b"', true],
    ['1 == 1 && 1 != 2', true],
    ['[1, [2]] == [1, [2]]', true],
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['!true', false],
    ['not false', true],
    ['2 in [1, 2]', true],
    ['3 not in [1, 2]', true],
    ['[1] in [[1], 2]', true],
    ['contains("hello", "ell")', true],
    ['contains([1, 2], 2)', true],
    ['contains([1, 2], "2")', false],
    ['starts_with("hello", "he")', true],
    ['ends_with("hello", "lo")', true],
    ['lower("HeLLo")', 'hello'],
    ['coalesce(null, "x", "y")', 'x'],
    ['coalesce(null, null)', null],
  ])('%s = %j', (src, expected) => {
    expect(run(src)).toEqual(expected);
  });
});

describe('null semantics', () => {
  // profile.missing and trait("anything") are null in an empty env.
  it.each([
    ['profile.missing == null', true],
    ['profile.missing != null', false],
    ['null == null', true],
    ['null != null', false],
    ['profile.plan == null', false],
    ['profile.plan != null', true],
    ['profile.missing == "a"', false],
    ['profile.missing != "a"', false],
    ['profile.missing == profile.other', false],
    ['profile.missing != profile.plan', false],
    ['profile.missing < 1', false],
    ['profile.missing >= 1', false],
    ['profile.missing in ["a"]', false],
    ['profile.missing not in ["a"]', false],
    ['"a" in profile.missing', false],
    ['"a" not in profile.missing', false],
    ['profile.missing + 1', null],
    ['-profile.missing', null],
    ['!profile.missing', null],
    ['!(profile.missing > 1)', true],
    ['profile.missing && true', false],
    ['profile.missing || true', true],
    ['1 / 0', null],
    ['0 / 0', null],
    ['5 % 0', null],
    ['1e308 * 10', null],
    ['lower(profile.missing)', null],
    ['contains(profile.missing, "a")', false],
    ['contains("abc", profile.missing)', false],
    ['starts_with(profile.missing, "a")', false],
    ['coalesce(profile.missing, 3)', 3],
    ['profile.plan == 1', false],
    ['profile.plan != 1', true],
    ['profile.plan in ["free"]', true],
    ['profile.plan in [1, "FREE", null]', false],
  ])('%s = %j', (src, expected) => {
    expect(run(src, { profile: { plan: 'free' } })).toEqual(expected);
  });

  it('a boolean-context null is false at the top', () => {
    const e = compiled('!profile.flag && true', seedContext('segment'));
    expect(e.evaluate(fakeEnv({}))).toBe(false);
  });
  it('undefined, NaN and throwing envs never escape', () => {
    const weird: EvalEnv = {
      aggregate: () => undefined as unknown as Value,
      profile: () => NaN,
      trait: () => {
        throw new Error('boom');
      },
      segment: () => 'yes',
      context: () => ({ nested: [1] }),
    };
    expect(compiled('events.purchase.count_30d').evaluate(weird)).toBeNull();
    expect(compiled('profile.x').evaluate(weird)).toBeNull();
    expect(compiled('profile.x + 1').evaluate(weird)).toBeNull();
    expect(compiled('total_spent > 1').evaluate(weird)).toBeNull();
    expect(compiled('segment("vip_users")').evaluate(weird)).toBe(false);
    expect(compiled('context.x == context.x').evaluate(weird)).toBe(true);
  });
});

describe('specialized comparisons keep the semantics', () => {
  const undef: EvalEnv = {
    aggregate: () => undefined as unknown as Value,
    profile: () => undefined as unknown as Value,
    trait: () => undefined as unknown as Value,
    segment: () => undefined as unknown as Value,
    context: () => undefined as unknown as Value,
  };
  it.each([
    'events.purchase.count_30d != 1',
    'events.purchase.count_30d == 1',
    'events.purchase.count_30d >= 0',
    '0 <= events.purchase.count_30d',
    'total_spent != 1',
    'total_spent < 1',
    'profile.plan != "a"',
    'profile.plan in ["a"]',
    'profile.plan not in ["a"]',
    'context.country not in ["a"]',
    'frequent_buyer == true',
    'segment("vip_users")',
  ])('%s is false when the env returns undefined', (src) => {
    expect(compiled(src).evaluate(undef)).toBe(false);
  });
  it.each([
    ['events.purchase.count_30d == null', true],
    ['total_spent != null', false],
    ['1 > events.purchase.count_30d', false],
  ])('%s = %s when the env returns undefined', (src, expected) => {
    expect(compiled(src).evaluate(undef)).toBe(expected);
  });
  it('flips literal-first comparisons', () => {
    const data = { aggregates: { 'events.purchase.count_30d': 2 }, traits: { total_spent: 10 } };
    expect(run('3 > events.purchase.count_30d', data)).toBe(true);
    expect(run('2 >= events.purchase.count_30d', data)).toBe(true);
    expect(run('2 < events.purchase.count_30d', data)).toBe(false);
    expect(run('10 <= total_spent', data)).toBe(true);
    expect(run('"b" > favorite_color', { traits: { favorite_color: 'a' } })).toBe(true);
  });
});

describe('references', () => {
  it('reads profile, context, traits and aggregates with the right keys', () => {
    const data: FakeData = {
      profile: { 'odd key': { a: 1 } },
      context: { country: 'FR' },
      traits: { favorite_color: 'red' },
      aggregates: { 'events["Order Completed"].sum(properties.amount, 30d)': 125.5 },
    };
    expect(run('profile["odd key"].a', data)).toBe(1);
    expect(run('context.country', data)).toBe('FR');
    expect(run('favorite_color', data)).toBe('red');
    expect(run('events["Order Completed"].sum(properties.amount, 30d)', data)).toBe(125.5);
    expect(run("events['Order Completed'].sum(properties['amount'], 30d) > 100", data)).toBe(true);
  });

  it('where(...) compiles to an EventFilter over one event', () => {
    const e = compiled('events.purchase.where(properties.amount > 100 && context.country in ["FR", "DE"]).count_30d >= 1');
    const ref = e.requirements.aggregates[0];
    expect(ref?.event).toBe('purchase');
    expect(ref?.metric).toEqual({ kind: 'count', window: { n: 30, unit: 'd' } });
    const f = ref?.filter;
    if (!f) throw new Error('filter expected');
    expect(f.id).toBe('properties.amount > 100 && context.country in ["FR", "DE"]');
    expect(ref?.id).toBe(`events.purchase.where(${f.id}).count_30d`);
    const ev = (properties: Record<string, unknown>, context: Record<string, unknown> = { country: 'FR' }) => ({ event: 'purchase', properties, context });
    expect(f.test(ev({ amount: 150 }))).toBe(true);
    expect(f.test(ev({ amount: 50 }))).toBe(false);
    expect(f.test(ev({ amount: 150 }, { country: 'US' }))).toBe(false);
    expect(f.test(ev({}))).toBe(false);
    expect(f.test(ev({ amount: '150' }))).toBe(false);
    expect(f.test({ event: null, properties: null, context: null } as never)).toBe(false);
    expect(f.test(null as never)).toBe(false);
  });

  it('where(...) can read the event name and does not see the prototype', () => {
    const e = compiled('events.x.where(event == "x" && properties.constructor == null).count_1d >= 1');
    const f = e.requirements.aggregates[0]?.filter;
    expect(f?.test({ event: 'x', properties: {}, context: {} })).toBe(true);
    expect(f?.test({ event: 'y', properties: {}, context: {} })).toBe(false);
  });

  it('equal filters and aggregates get equal ids regardless of spelling', () => {
    const a = compiled("events['purchase'].where(properties.amount>100 and not (properties.x == 'y')).count_30d");
    const b = compiled('events.purchase.where(properties.amount > 100 && !(properties.x == "y")).count_30d');
    expect(a.requirements.aggregates[0]?.id).toBe(b.requirements.aggregates[0]?.id);
    expect(a.requirements.aggregates[0]?.filter?.id).toBe('properties.amount > 100 && !(properties.x == "y")');
  });
});

describe('requirements', () => {
  it('are exact and deduplicated', () => {
    const e = compiled(
      'events.purchase.count_30d >= 1 && events.purchase.count_30d < 10 && profile.plan == "a" && profile.plan != "b" && ' +
        'profile.address.city == "x" && frequent_buyer && trait("frequent_buyer") && segment("vip_users") && segment("vip_users") && ' +
        'context.country == "FR" && context.country != "DE" && events.purchase.last(properties.amount) > 1',
    );
    expect(e.requirements).toEqual({
      aggregates: [
        { event: 'purchase', filter: null, metric: { kind: 'count', window: { n: 30, unit: 'd' } }, id: 'events.purchase.count_30d' },
        { event: 'purchase', filter: null, metric: { kind: 'last', property: ['properties', 'amount'] }, id: 'events.purchase.last(properties.amount)' },
      ],
      profile: [['plan'], ['address', 'city']],
      traits: ['frequent_buyer'],
      segments: ['vip_users'],
      context: [['country']],
      timeDependent: true,
    });
  });
  it.each([
    ['events.purchase.last(properties.amount) > 1', false],
    ['last_seen_minutes_ago < 10', true],
    ['first_seen_days_ago > 10', true],
    ['events.a.max(properties.x, 2h) > 1', true],
    ['events.a.distinct_count(context.ip, 15m) > 1', true],
    ['profile.a == 1 && frequent_buyer', false],
  ])('%s timeDependent=%s', (src, td) => {
    expect(compiled(src).requirements.timeDependent).toBe(td);
  });
  it('top-level *_ago metrics read any event', () => {
    expect(compiled('last_seen_minutes_ago < 1440').requirements.aggregates[0]).toMatchObject({ event: null, filter: null, id: 'last_seen_minutes_ago' });
  });
  it('evaluate passes the very AggregateRef objects listed in requirements', () => {
    const e = compiled('events.purchase.count_30d >= 1 || events.purchase.count_30d < 0');
    const env = fakeEnv({});
    e.evaluate(env);
    expect(env.reads.every((r) => r === e.requirements.aggregates[0])).toBe(true);
  });
  it('requirementsOf works on an AST', () => {
    const r = parse('segment("a") && trait("b") > 1');
    if (!r.ok) throw new Error('parse');
    expect(requirementsOf(r.ast)).toMatchObject({ segments: ['a'], traits: ['b'] });
  });
  it('compileAst evaluates even ill-typed ASTs to null', () => {
    const r = parse('contains(1) + 30d');
    if (!r.ok) throw new Error('parse');
    expect(compileAst(r.ast).evaluate(fakeEnv())).toBeNull();
  });
});
