/**
 * Issue 7 / 3: POST /v1/admin/expressions/validate (and /test) under fuzzing, over HTTP against real
 * Postgres: always 200 (a verdict with diagnostics) or a 4xx naming the field — never a 5xx, never slow;
 * sandbox-escape idioms never execute (canary), and definitions with prototype-ish keys behave.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as testkit from '@tinycdp/testkit';
import { startIsolatedEdgeStack, type EdgeStack } from './internal/edge-stack';

let stack: EdgeStack;
/** The admin API with the admin key (rate limit off: this test sends hundreds of requests a second). */
const t = {
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const r = await fetch(stack.admin.url + path, {
      method,
      headers: { authorization: `Bearer ${stack.secrets.admin}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text === '' ? null : JSON.parse(text) };
  },
};
const g = globalThis as Record<string, unknown>;
const KINDS = ['trait', 'segment', 'flag'] as const;
const PIECES = [
  'events.purchase.count_7d', 'events["Order Completed"].sum(properties.amount, 30d)', '>=', '&&', '||', '!', '(', ')', '[', ']', '1', '1e309',
  '"x"', 'profile.plan', 'context.country', 'trait("t1")', 'segment("s1")', 'constructor.constructor("globalThis.__tinycdp_admin_canary=1")()',
  '__proto__', 'profile.__proto__.polluted', '`${globalThis.__tinycdp_admin_canary=1}`', 'in', '["a","b"]', 'lower(', ',', '\u0000', '\n',
];

async function validate(body: unknown) {
  const t0 = performance.now();
  const r = await t.call('POST', '/v1/admin/expressions/validate', body);
  return { ...r, ms: performance.now() - t0 };
}

beforeAll(async () => {
  stack = await startIsolatedEdgeStack(testkit, { admin: { rateLimit: false } });
  expect((await t.call('POST', '/v1/admin/traits', { key: 't1', expression: 'events.purchase.count_30d' })).status).toBe(201);
  expect((await t.call('POST', '/v1/admin/segments', { key: 's1', rule: 'trait("t1") >= 1' })).status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
  delete g['__tinycdp_admin_canary'];
});

describe('expressions/validate under fuzzing', () => {
  it('random expressions: 200 with a verdict, bounded time, nothing executed', async () => {
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS),
        fc.oneof(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((a) => a.join(' ')), fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 })),
        async (kind, expression) => {
          const r = await validate({ kind, expression });
          slowest = Math.max(slowest, r.ms);
          // U+0000 anywhere is refused at the door (Postgres-backed admin), everything else gets a verdict.
          if (expression.includes('\u0000')) {
            expect(r.status).toBe(400);
            expect(r.body.error.message).toMatch(/expression/);
            return;
          }
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          expect(typeof r.body.valid).toBe('boolean');
          if (!r.body.valid) expect(r.body.diagnostics.length).toBeGreaterThan(0);
          expect(r.ms).toBeLessThan(2_000);
        },
      ),
      { numRuns: 200 },
    );
    console.log(`[expressions-fuzz] slowest validate round trip ${slowest.toFixed(0)} ms`);
    expect(g['__tinycdp_admin_canary']).toBeUndefined();
  });

  it('malformed requests are 4xx naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ kind: fc.anything(), expression: fc.anything() }, { requiredKeys: [] }), async (body) => {
        const r = await validate(body);
        expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
        if (r.status !== 200) expect(`${r.body.error.message} ${JSON.stringify(r.body.error.details)}`).toMatch(/kind|expression|body|U\+0000|finite|nested/);
      }),
      { numRuns: 100 },
    );
  });

  it('the limits answer as diagnostics, fast', async () => {
    // Admin caps the field below the language's 4096 (400 naming it); the language's own cap is a diagnostic.
    const long = await validate({ kind: 'trait', expression: '1'.padEnd(5_000, ' ') });
    expect(long.status).toBe(400);
    expect(JSON.stringify(long.body.error)).toMatch(/expression/);
    const deep = await validate({ kind: 'trait', expression: '('.repeat(100) + '1' + ')'.repeat(100) });
    expect(deep.body.diagnostics[0].code).toBe('too_deep');
    const open = await validate({ kind: 'trait', expression: 'lower('.repeat(60) });
    expect(open.status).toBe(200);
    expect(open.body.valid).toBe(false);
  });

  it('/test evaluates escape idioms to plain values or diagnostics; nothing executes', async () => {
    for (const expression of [
      'profile.constructor == null',
      'profile.__proto__ == null',
      'context.constructor == null',
      'constructor.constructor("globalThis.__tinycdp_admin_canary=1")()',
      'profile.plan == "${globalThis.__tinycdp_admin_canary=1}"',
    ]) {
      const r = await t.call('POST', '/v1/admin/expressions/test', { kind: 'segment', key: 'probe', expression, profile: { traits: { plan: 'x' } }, context: { country: 'DE' } });
      expect([200, 400], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 200) expect(r.body.value === null || typeof r.body.value === 'boolean').toBe(true);
      if (r.status === 200 && expression.endsWith('== null')) expect(r.body.value).toBe(true);
    }
    expect(g['__tinycdp_admin_canary']).toBeUndefined();
  });
});
