/**
 * Properties of evaluation with the real DSL: folding is order- and batching-independent, and
 * nextDueAt never skips a time-driven membership change of a monotone rule (nor reports one early).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvents } from './apply';
import { evaluateProfile } from './evaluate';
import { mergeProfiles } from './identity';
import { ev, track } from './internal/test-fixtures';
import { buildPlan } from './plan';
import { emptyProfile } from './state';
import { profileView } from './view';
import { DAY_MS, HOUR_MS } from './window';

const rules = [
  'last_seen_minutes_ago < 5',
  'last_seen_minutes_ago < 90',
  'last_seen_minutes_ago >= 45',
  'events.a.count_1h >= 1',
  'events.a.count_3h >= 2',
  'events.a.count_2d >= 3',
  'events.a.count_15m >= 1',
  'events.a.unique_days_3d >= 2',
  'first_seen_days_ago >= 1',
  'events.a.last_seen_minutes_ago < 20',
  'events.a.count_2h >= 1 && last_seen_minutes_ago < 30',
  'events.a.sum(properties.v, 1d) >= 10',
];
const { plan, problems } = buildPlan(rules.map((rule, i) => ({ kind: 'segment', key: `s${i}`, rule, version: 1 })));
const base = Date.UTC(2024, 1, 28, 22, 0, 0); // around the 2024 leap day

interface EventSpec {
  offset: number;
  name: string;
  v: number;
}
const eventArb: fc.Arbitrary<EventSpec> = fc.record({
  offset: fc.integer({ min: -3 * DAY_MS, max: 0 }),
  name: fc.constantFrom('a', 'b'),
  v: fc.integer({ min: 0, max: 8 }),
});

describe('evaluation properties', () => {
  it('plan compiles', () => expect(problems).toEqual([]));

  it('applying events is independent of order and batching', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 25 }), fc.nat(), (raw, cut) => {
        const events = raw.map((e) => track(e.name, new Date(base + e.offset).toISOString(), { v: e.v }));
        const k = events.length === 0 ? 0 : cut % events.length;
        const one = applyEvents(emptyProfile('u1'), events, plan, base);
        const two = applyEvents(applyEvents(emptyProfile('u1'), events.slice(0, k), plan, base), events.slice(k), plan, base);
        const rev = applyEvents(emptyProfile('u1'), [...events].reverse(), plan, base);
        expect(two.series).toEqual(one.series);
        expect(profileView(rev, plan, base).segments()).toEqual(profileView(one, plan, base).segments());
      }),
      { numRuns: 150 },
    );
  });

  it('merging two anonymous histories equals applying all events to one profile', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 15 }), fc.array(eventArb, { maxLength: 15 }), (xs, ys) => {
        const mk = (e: EventSpec, userId: string | null) =>
          ev({ type: 'track', event: e.name, userId, anonymousId: userId === null ? 'anon' : null, properties: { v: e.v }, timestamp: new Date(base + e.offset).toISOString() });
        const user = applyEvents(emptyProfile('u1'), xs.map((e) => mk(e, 'u1')), plan, base);
        const anon = applyEvents(emptyProfile('anon'), ys.map((e) => mk(e, null)), plan, base);
        const merged = mergeProfiles(user, anon, plan, base);
        const direct = applyEvents(emptyProfile('u1'), [...xs.map((e) => mk(e, 'u1')), ...ys.map((e) => mk(e, 'u1'))], plan, base);
        expect(profileView(merged, plan, base).segments()).toEqual(profileView(direct, plan, base).segments());
        expect(merged.firstSeen).toEqual(direct.firstSeen);
        expect(merged.lastSeen).toEqual(direct.lastSeen);
      }),
      { numRuns: 100 },
    );
  });

  it('nextDueAt: no membership change before it, and a change at it (unless it is the 24h cap)', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 2 * HOUR_MS }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
        (raw, later, fractions) => {
          const events = raw.map((e) => track(e.name, new Date(base + e.offset).toISOString(), { v: e.v }));
          const now = base + later;
          const state = applyEvents(emptyProfile('u1'), events, plan, now);
          const r = evaluateProfile(state, plan, now, 'event');
          const at = (t: number) => profileView(state, plan, t).segments();
          const m0 = at(now);
          if (r.nextDueAt === null) return;
          expect(r.nextDueAt).toBeGreaterThan(now);
          expect(r.nextDueAt).toBeLessThanOrEqual(now + DAY_MS);
          for (const f of [...fractions, 1]) {
            const t = Math.min(r.nextDueAt - 1, now + Math.floor(f * (r.nextDueAt - now)));
            expect(at(t)).toEqual(m0);
          }
          if (r.nextDueAt < now + DAY_MS) expect(at(r.nextDueAt)).not.toEqual(m0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
