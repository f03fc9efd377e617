import { compile, type ExprType } from '@tinycdp/dsl';
import { describe, expect, it } from 'vitest';
import { batches, countSeedEvents, definitionBody, SEED_DEFINITIONS, seedEvents, sourceOfView } from './seed-data';

describe('seed definitions', () => {
  it('are in dependency order: each compiles against only the ones before it', () => {
    const traits = new Map<string, ExprType>();
    const segments = new Set<string>();
    for (const d of SEED_DEFINITIONS) {
      const res = compile(d.source, { kind: d.kind, traits, segments, selfKey: d.key });
      expect(res.ok, `${d.kind} ${d.key}: ${res.ok ? '' : res.diagnostics.map((x) => x.message).join('; ')}`).toBe(true);
      if (!res.ok) continue;
      if (d.kind === 'trait') traits.set(d.key, res.expr.type);
      if (d.kind === 'segment') segments.add(d.key);
    }
    expect(SEED_DEFINITIONS.filter((d) => d.kind === 'flag').map((d) => d.key)).toEqual([
      'premium_features',
      'new_checkout',
      'big_spender_perks',
      'vip_badge',
    ]);
  });

  it('bodies follow the admin API and stored sources compare', () => {
    expect(definitionBody(SEED_DEFINITIONS[0]!)).toEqual({ key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3' });
    expect(definitionBody(SEED_DEFINITIONS[5]!)).toEqual({ key: 'vip_users', rule: 'frequent_buyer == true' });
    expect(sourceOfView('flag', { rules: [{ when: 'segment("vip_users")', value: true }] })).toBe('segment("vip_users")');
    expect(sourceOfView('segment', { rule: 'x' })).toBe('x');
    expect(sourceOfView('trait', {})).toBeNull();
  });
});

describe('seed events', () => {
  const now = Date.UTC(2025, 5, 15, 12, 0, 0);
  const opts = { users: 50, days: 30, now, seed: 42 };

  it('are deterministic for a seed and differ across seeds', () => {
    const a = [...seedEvents(opts)];
    expect([...seedEvents(opts)]).toEqual(a);
    expect([...seedEvents({ ...opts, seed: 43 })]).not.toEqual(a);
    expect(countSeedEvents(opts)).toBe(a.length);
  });

  it('cover every user, stay within the window, in time order, with unique ids', () => {
    const all = [...seedEvents(opts)];
    const identifies = all.filter((e) => e.type === 'identify');
    expect(identifies).toHaveLength(50);
    expect(new Set(all.map((e) => e.messageId)).size).toBe(all.length);
    const times = all.map((e) => Date.parse(e.timestamp));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(now - 30 * 86_400_000);
    expect(Math.max(...times)).toBeLessThanOrEqual(now);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const purchases = all.filter((e) => e.type === 'track' && e.event === 'purchase');
    expect(purchases.length).toBeGreaterThan(0);
    for (const p of purchases) expect((p.properties as { amount: number }).amount).toBeGreaterThan(0);
    expect(all.some((e) => e.type === 'page')).toBe(true);
    const plans = new Set(identifies.map((e) => (e.traits as { plan: string }).plan));
    expect(plans.has('premium') || plans.has('enterprise')).toBe(true);
  });

  it('make some users qualify for the seed segments', () => {
    const all = [...seedEvents({ ...opts, users: 200 })];
    const last30 = now - 30 * 86_400_000;
    const buys = new Map<string, number>();
    for (const e of all) if (e.event === 'purchase' && Date.parse(e.timestamp) >= last30) buys.set(e.userId, (buys.get(e.userId) ?? 0) + 1);
    expect([...buys.values()].filter((n) => n >= 3).length).toBeGreaterThan(5); // vip_users
  });

  it('batches respect the item and byte limits', () => {
    const items = Array.from({ length: 1201 }, (_, i) => ({ i, pad: 'x'.repeat(100) }));
    const sizes = [...batches(items, 500)].map((b) => b.length);
    expect(sizes).toEqual([500, 500, 201]);
    const bySize = [...batches(items, 500, 10_000)];
    for (const b of bySize) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(10_000 + b.length);
    expect(bySize.flat()).toHaveLength(1201);
  });
});
