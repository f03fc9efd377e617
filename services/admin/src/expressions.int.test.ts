import { createIsolatedSchema, getServices } from '@tinycdp/testkit';
import { emptyProfile, type ProfileState } from '@tinycdp/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './internal/test-app';

describe('expressions endpoints (real Postgres)', () => {
  let t: TestAdmin;
  const profiles = new Map<string, ProfileState>();
  beforeAll(async () => {
    t = await startTestAdmin(getServices().databaseUrl, await createIsolatedSchema(getServices().databaseUrl), { profiles: { get: async (id) => profiles.get(id) ?? null } });
    await t.call('POST', '/v1/admin/traits', { key: 'total_spent', expression: 'events.purchase.count_30d' });
    await t.call('POST', '/v1/admin/segments', { key: 'vip_users', rule: 'trait("total_spent") >= 2' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('validate: 200 with type and requirements for a valid expression', async () => {
    const r = await t.call('POST', '/v1/admin/expressions/validate', { kind: 'segment', expression: 'total_spent >= 500 && segment("vip_users")' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      kind: 'segment',
      valid: true,
      type: 'boolean',
      diagnostics: [],
      requirements: { traits: ['total_spent'], segments: ['vip_users'], timeDependent: false },
    });
  });

  it('validate: 200 with diagnostics for an invalid expression', async () => {
    const r = await t.call('POST', '/v1/admin/expressions/validate', { kind: 'flag', expression: 'events.purchase.count_30d >= ' });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.diagnostics[0]).toMatchObject({ code: 'unexpected_end', line: 1 });
    const notBool = await t.call('POST', '/v1/admin/expressions/validate', { kind: 'segment', expression: 'total_spent' });
    expect(notBool.body).toMatchObject({ valid: false, requirements: { traits: ['total_spent'] } });
    const badReq = await t.call('POST', '/v1/admin/expressions/validate', { kind: 'widget', expression: 'x' });
    expect(badReq.status).toBe(400);
    expect(badReq.body.error.details.field).toBe('kind');
  });

  it('test: evaluates against an inline profile and reports inputs', async () => {
    const r = await t.call('POST', '/v1/admin/expressions/test', {
      kind: 'segment',
      expression: 'profile.plan in ["premium", "enterprise"]',
      profile: { id: 'u1', properties: { plan: { at: 0, value: 'premium' } } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ value: true, type: 'boolean', profileId: 'u1', inputs: { 'profile.plan': 'premium' } });
  });

  it('test: reads a stored profile by userId; 404 for an unknown one; 400 for an invalid expression', async () => {
    const p = emptyProfile('user123');
    p.userId = 'user123';
    p.lastSeen = t.clock.now() - 10 * 60_000;
    p.firstSeen = p.lastSeen;
    profiles.set('user123', p);
    const r = await t.call('POST', '/v1/admin/expressions/test', { kind: 'trait', expression: 'last_seen_minutes_ago', userId: 'user123' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.value).toBe(10);
    expect((await t.call('POST', '/v1/admin/expressions/test', { kind: 'trait', expression: 'true', userId: 'ghost' })).status).toBe(404);
    const invalid = await t.call('POST', '/v1/admin/expressions/test', { kind: 'trait', expression: 'a >=', userId: 'user123' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.diagnostics[0].code).toBe('unexpected_end');
    const both = await t.call('POST', '/v1/admin/expressions/test', { kind: 'trait', expression: 'true', userId: 'u', profile: {} });
    expect(both.status).toBe(400);
  });

  it('GET /v1/admin/profiles/:id evaluates traits and segments now; 404 for unknown', async () => {
    const r = await t.call('GET', '/v1/admin/profiles/user123');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      profileId: 'user123',
      userId: 'user123',
      traits: { total_spent: 0 },
      segments: { vip_users: { member: false, since: null } },
    });
    expect((await t.call('GET', '/v1/admin/profiles/ghost')).status).toBe(404);
  });
});
