/**
 * needsEventBody: when it says an event's body is not read, the event's digest (no properties, traits or
 * context) folds into exactly the same state as the whole event — checked with the real DSL over
 * random events and plans with and without property reads and filters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestEvent, eventDigest, normalizeMessage, parseDigest, type EventType } from '@tinycdp/events';
import { applyEvents } from './apply';
import { needsEventBody } from './event-body';
import { buildPlan } from './plan';
import { emptyProfile } from './state';
import { DAY_MS } from './window';

const segment = (key: string, rule: string) => ({ kind: 'segment' as const, key, rule, version: 1 });
const plans = {
  seed: [
    segment('recent_buyers', 'events.purchase.count_30d >= 1'),
    segment('big', 'events.purchase.sum(properties.amount, 90d) >= 500'),
    segment('active', 'events.app_open.unique_days_14d >= 5'),
    segment('premium', 'profile.plan in ["premium","enterprise"]'),
  ],
  filtered: [segment('pricing', 'events.page.where(event == "page").count_7d >= 1'), segment('ios', 'events.app_open.where(context.os == "ios").count_7d >= 1')],
  pages: [segment('viewer', 'events["Page Viewed"].where(properties.path == "/p/1").count_7d >= 1'), segment('seen', 'last_seen_minutes_ago < 60')],
  any: [segment('recent', 'last_seen_minutes_ago < 60'), segment('openers', 'events.app_open.count_7d >= 2')],
};
const planOf = (defs: (typeof plans)[keyof typeof plans]) => {
  const r = buildPlan(defs);
  expect(r.problems).toEqual([]);
  return r.plan;
};

describe('needsEventBody', () => {
  it('is false only for track, page and screen events whose series read no property and filter nothing', () => {
    const seed = planOf(plans.seed);
    expect(needsEventBody(seed, 'track', 'app_open')).toBe(false);
    expect(needsEventBody(seed, 'track', 'purchase')).toBe(true); // sum(properties.amount)
    expect(needsEventBody(seed, 'track', 'never_mentioned')).toBe(false);
    expect(needsEventBody(seed, 'page', null)).toBe(false);
    expect(needsEventBody(seed, 'screen', null)).toBe(false);
    for (const t of ['identify', 'alias', 'group'] as EventType[]) expect(needsEventBody(seed, t, null)).toBe(true);
    const filtered = planOf(plans.filtered);
    expect(needsEventBody(filtered, 'track', 'app_open')).toBe(true); // where(context.os …)
    expect(needsEventBody(filtered, 'track', 'page')).toBe(true);
    expect(needsEventBody(filtered, 'page', null)).toBe(false); // "page" is a track event name, not a page view
    expect(needsEventBody(planOf(plans.pages), 'page', null)).toBe(true);
    expect(needsEventBody(planOf(plans.pages), 'screen', null)).toBe(false);
    expect(needsEventBody(planOf(plans.any), 'track', 'app_open')).toBe(false);
  });

  it('an event whose body is not needed folds into the same state from its digest alone', () => {
    const now = Date.UTC(2026, 10, 20, 12, 0, 0);
    const eventArb = fc.record({
      type: fc.constantFrom('track', 'page', 'screen'),
      event: fc.constantFrom('app_open', 'purchase', 'page', 'other'),
      name: fc.constantFrom('Pricing', 'Home'),
      userId: fc.constantFrom('u1', 'u2'),
      anonymousId: fc.option(fc.constantFrom('a1', 'a2'), { nil: undefined }),
      ageMs: fc.integer({ min: -DAY_MS, max: 20 * DAY_MS }), // a little in the future too
      amount: fc.integer({ min: 0, max: 900 }),
      path: fc.constantFrom('/p/1', '/p/2'),
      os: fc.constantFrom('ios', 'android'),
      messageId: fc.uuid(),
    });
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(plans)), fc.array(eventArb, { minLength: 1, maxLength: 12 }), (defs, specs) => {
        const plan = planOf(defs);
        const receivedAt = now - 1000;
        const whole = specs.map((s) =>
          normalizeMessage(
            {
              type: s.type,
              messageId: s.messageId,
              userId: s.userId,
              ...(s.anonymousId ? { anonymousId: s.anonymousId } : {}),
              ...(s.type === 'track' ? { event: s.event } : { name: s.name }),
              properties: { amount: s.amount, path: s.path, currency: 'USD' },
              context: { os: s.os, library: { name: 'analytics-node' } },
              timestamp: new Date(now - s.ageMs).toISOString(),
            },
            { receivedAt, newId: () => 'unused' },
          ),
        );
        const lean = whole.map((e) => {
          if (needsEventBody(plan, e.type, e.event)) return e;
          const d = parseDigest(eventDigest(e)!);
          expect(d).not.toBeNull();
          return digestEvent(d!, receivedAt);
        });
        const a = applyEvents(emptyProfile('u1'), whole, plan, now);
        const b = applyEvents(emptyProfile('u1'), lean, plan, now);
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });
});
