import { FakeClock } from '@tinycdp/common';
import { describe, expect, it } from 'vitest';
import { applyEvents } from './apply';
import type { Definition } from './definitions';
import { evaluateProfile, retireProfile } from './evaluate';
import {
  aggCmp,
  count,
  expr,
  firstSeen,
  gte,
  lastSeen,
  ms,
  tableCompiler,
  track,
} from './internal/test-fixtures';
import { buildPlan, type Plan } from './plan';
import { emptyProfile, type ProfileState } from './state';
import { evaluateExpression, profileView } from './view';
import { MINUTE_MS } from './window';

const table = {
  buyer30: () => aggCmp('buyer30', count('purchase', '30d'), '>=', 1),
  buyer1h: () => aggCmp('buyer1h', count('purchase', '1h'), '>=', 1),
  recent5: () => aggCmp('recent5', lastSeen(), '<', 5),
  inactive: () => aggCmp('inactive', lastSeen(), '>=', 60),
  old: () => aggCmp('old', firstSeen(), '>=', 2),
  freq: () => expr('freq', {}, () => null),
  both: () =>
    expr('both', { aggregates: [count('purchase', '1h'), lastSeen()] }, (env) =>
      gte(env.aggregate(count('purchase', '1h')), 1) && (env.aggregate(lastSeen()) as number) < 30,
    ),
  viaSeg: () => expr('viaSeg', { segments: ['b1h'] }, (env) => env.segment('b1h') === true),
};
const compile = tableCompiler(table);
const seg = (key: string, rule: string, version = 1): Definition => ({ kind: 'segment', key, rule, version });
const planOf = (...defs: Definition[]): Plan => {
  const r = buildPlan(defs, { compile });
  expect(r.problems).toEqual([]);
  return r.plan;
};

function run(state: ProfileState, plan: Plan, events: Parameters<typeof applyEvents>[1], now: number) {
  return evaluateProfile(applyEvents(state, events, plan, now), plan, now, 'event');
}

describe('evaluateProfile: membership diff', () => {
  it('enters, stays and exits with monotonic sequence', () => {
    const plan = planOf(seg('b30', 'buyer30'), seg('b1h', 'buyer1h'));
    const clock = new FakeClock('2024-03-10T10:00:00Z');
    const r1 = run(emptyProfile('u1'), plan, [track('purchase', '2024-03-10T10:00:00Z')], clock.now());
    expect(r1.changes).toEqual([
      { profileId: 'u1', userId: 'u1', segment: 'b1h', status: 'entered', at: '2024-03-10T10:00:00.000Z', reason: 'event', sequence: 1 },
      { profileId: 'u1', userId: 'u1', segment: 'b30', status: 'entered', at: '2024-03-10T10:00:00.000Z', reason: 'event', sequence: 2 },
    ]);
    expect(r1.state.segments).toEqual({ b1h: clock.now(), b30: clock.now() });
    expect(r1.state.sequence).toBe(2);
    expect(r1.state.planId).toBe(plan.planId);
    // same again: no changes
    const r2 = evaluateProfile(r1.state, plan, clock.now(), 'event');
    expect(r2.changes).toEqual([]);
    expect(r2.state.sequence).toBe(2);
    // time passes: the 1h window empties at 11:00
    expect(r1.nextDueAt).toBe(ms('2024-03-10T11:00:00Z'));
    clock.set(r1.nextDueAt!);
    const r3 = evaluateProfile(r2.state, plan, clock.now(), 'time');
    expect(r3.changes).toEqual([
      { profileId: 'u1', userId: 'u1', segment: 'b1h', status: 'exited', at: '2024-03-10T11:00:00.000Z', reason: 'time', sequence: 3 },
    ]);
    // next: the 30d window empties at the start of 2024-04-09
    expect(r3.nextDueAt).toBe(ms('2024-03-11T11:00:00Z')); // capped at now + 24h
    const r4 = evaluateProfile(r3.state, plan, ms('2024-04-08T23:59:59.999Z'), 'time');
    expect(r4.changes).toEqual([]);
    expect(r4.nextDueAt).toBe(ms('2024-04-09T00:00:00Z'));
    const r5 = evaluateProfile(r4.state, plan, ms('2024-04-09T00:00:00Z'), 'time');
    expect(r5.changes.map((c) => [c.segment, c.status, c.sequence])).toEqual([['b30', 'exited', 4]]);
    expect(r5.nextDueAt).toBeNull();
  });

  it('deleted segments exit; the sequence continues', () => {
    const plan1 = planOf(seg('b30', 'buyer30'), seg('b1h', 'buyer1h'));
    const r1 = run(emptyProfile('u1'), plan1, [track('purchase', '2024-03-10T10:00:00Z')], ms('2024-03-10T10:00:00Z'));
    const plan2 = planOf(seg('b30', 'buyer30'));
    const r2 = evaluateProfile(r1.state, plan2, ms('2024-03-10T10:01:00Z'), 'definition');
    expect(r2.changes.map((c) => [c.segment, c.status, c.sequence, c.reason])).toEqual([['b1h', 'exited', 3, 'definition']]);
    expect(r2.state.segments).toEqual({ b30: ms('2024-03-10T10:00:00Z') });
    const gone = retireProfile(r2.state, ms('2024-03-10T10:02:00Z'), 'merge');
    expect(gone.changes.map((c) => [c.segment, c.status, c.sequence])).toEqual([['b30', 'exited', 4]]);
    expect(gone.state.segments).toEqual({});
  });

  it('segment() of another segment', () => {
    const plan = planOf(seg('b1h', 'buyer1h'), seg('via', 'viaSeg'));
    const r = run(emptyProfile('u1'), plan, [track('purchase', '2024-03-10T10:20:00Z')], ms('2024-03-10T10:20:00Z'));
    expect(r.changes.map((c) => c.segment)).toEqual(['b1h', 'via']);
    expect(r.nextDueAt).toBe(ms('2024-03-10T11:00:00Z'));
  });
});

describe('nextDueAt', () => {
  it('last_seen_minutes_ago < 5: due 5 minutes after the last event', () => {
    const plan = planOf(seg('recent', 'recent5'));
    const t = ms('2024-03-10T10:00:20Z');
    const r = run(emptyProfile('u1'), plan, [track('x', '2024-03-10T10:00:20Z')], t);
    expect(r.changes.map((c) => c.status)).toEqual(['entered']);
    expect(r.nextDueAt).toBe(t + 5 * MINUTE_MS);
    const r2 = evaluateProfile(r.state, plan, r.nextDueAt! - 1, 'time');
    expect(r2.changes).toEqual([]);
    expect(r2.nextDueAt).toBe(t + 5 * MINUTE_MS);
    const r3 = evaluateProfile(r.state, plan, r.nextDueAt!, 'time');
    expect(r3.changes.map((c) => c.status)).toEqual(['exited']);
  });

  it('evaluated later than the event, still exact', () => {
    const plan = planOf(seg('recent', 'recent5'));
    const t = ms('2024-03-10T10:00:20Z');
    const s = applyEvents(emptyProfile('u1'), [track('x', '2024-03-10T10:00:20Z')], plan, t);
    const r = evaluateProfile(s, plan, t + 150_000, 'event');
    expect(r.nextDueAt).toBe(t + 5 * MINUTE_MS);
  });

  it('becoming inactive: last_seen_minutes_ago >= 60', () => {
    const plan = planOf(seg('inactive', 'inactive'));
    const t = ms('2024-03-10T10:00:00Z');
    const r = run(emptyProfile('u1'), plan, [track('x', '2024-03-10T10:00:00Z')], t);
    expect(r.changes).toEqual([]);
    expect(r.nextDueAt).toBe(t + 60 * MINUTE_MS);
  });

  it('first_seen_days_ago >= 2', () => {
    const plan = planOf(seg('old', 'old'));
    const t = ms('2024-02-28T18:00:00Z');
    const r = run(emptyProfile('u1'), plan, [track('x', '2024-02-28T18:00:00Z')], t);
    expect(r.nextDueAt).toBe(t + 24 * 60 * MINUTE_MS); // cap: the change is 48h away
    const r2 = evaluateProfile(r.state, plan, r.nextDueAt!, 'time');
    expect(r2.nextDueAt).toBe(ms('2024-03-01T18:00:00Z'));
  });

  it('combined window and last-seen rule', () => {
    const plan = planOf(seg('both', 'both'));
    const t = ms('2024-03-10T10:50:00Z');
    const r = run(emptyProfile('u1'), plan, [track('purchase', '2024-03-10T10:50:00Z')], t);
    expect(r.changes.map((c) => c.status)).toEqual(['entered']);
    expect(r.nextDueAt).toBe(ms('2024-03-10T11:00:00Z'));
    const r2 = run(emptyProfile('u1'), plan, [track('purchase', '2024-03-10T10:05:00Z')], ms('2024-03-10T10:05:00Z'));
    expect(r2.nextDueAt).toBe(ms('2024-03-10T10:35:00Z'));
  });

  it('null when nothing can change with time', () => {
    const plan = planOf(seg('b30', 'buyer30'));
    expect(evaluateProfile(emptyProfile('u1'), plan, ms('2024-03-10T10:00:00Z'), 'event').nextDueAt).toBeNull();
  });
});

describe('views', () => {
  it('profileView memoizes and evaluateExpression records inputs', () => {
    const plan = planOf(seg('b1h', 'buyer1h'));
    const s = applyEvents(emptyProfile('u1'), [track('purchase', '2024-03-10T10:00:00Z')], plan, ms('2024-03-10T10:00:00Z'));
    let calls = 0;
    const e = expr('t', { aggregates: [count('purchase', '1h')], segments: ['b1h'], context: [['country']] }, (env) => {
      calls++;
      return [env.aggregate(count('purchase', '1h')), env.segment('b1h'), env.context(['country']), env.trait('nope')];
    });
    const r = evaluateExpression(e, s, plan, ms('2024-03-10T10:30:00Z'), { country: 'FR' });
    expect(r.value).toEqual([1, true, 'FR', null]);
    expect(r.inputs).toEqual({
      [count('purchase', '1h').id]: 1,
      'segment("b1h")': true,
      'context.country': 'FR',
      'trait("nope")': null,
    });
    expect(calls).toBe(1);
    const v = profileView(s, plan, ms('2024-03-10T11:00:00Z'));
    expect(v.segments()).toEqual({ b1h: false });
    expect(v.segment('unknown')).toBeNull();
  });
});

describe('profileView: aggregate memo shared across views of one state', () => {
  const plan = planOf(seg('b1h', 'buyer1h'), seg('r5', 'recent5'));
  const at = (iso: string) => new Date(iso).getTime();
  const state = applyEvents(emptyProfile('u1'), [track('purchase', '2024-03-10T10:00:00Z')], plan, at('2024-03-10T10:00:00Z'));

  it('reuses a windowed value while the window has not moved, and recomputes once it has', () => {
    const memo = new Map();
    expect(profileView(state, plan, at('2024-03-10T10:10:00Z'), {}, memo).segment('b1h')).toBe(true);
    expect(memo.get(count('purchase', '1h').id)).toMatchObject({ value: 1 });
    // A planted value at the same window position is what the next view reads: the memo is used.
    const position = memo.get(count('purchase', '1h').id)!.at;
    memo.set(count('purchase', '1h').id, { at: position, value: 0 });
    expect(profileView(state, plan, at('2024-03-10T10:50:00Z'), {}, memo).segment('b1h')).toBe(false);
    // The hour slid: the planted value is not reused; the purchase left the 1h window.
    memo.set(count('purchase', '1h').id, { at: position, value: 7 });
    expect(profileView(state, plan, at('2024-03-10T11:30:00Z'), {}, memo).segment('b1h')).toBe(false);
    expect(memo.get(count('purchase', '1h').id)).toMatchObject({ value: 0 });
  });

  it('never memoizes values that change with every instant (last_seen_minutes_ago)', () => {
    const memo = new Map();
    expect(profileView(state, plan, at('2024-03-10T10:03:00Z'), {}, memo).segment('r5')).toBe(true);
    expect(profileView(state, plan, at('2024-03-10T10:06:00Z'), {}, memo).segment('r5')).toBe(false);
    expect(memo.has(lastSeen().id)).toBe(false);
  });
});
