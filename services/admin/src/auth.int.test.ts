import { createIsolatedSchema, getServices } from '@tinycdp/testkit';
import { emptyProfile } from '@tinycdp/engine';
import { createKey } from '@tinycdp/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './internal/test-app';

type Cred = 'none' | 'malformed' | 'unknown' | 'revoked' | 'wrong_scope' | 'admin';
const EXPECTED: Record<Exclude<Cred, 'admin'>, number> = {
  none: 401,
  malformed: 401,
  unknown: 401,
  revoked: 401,
  wrong_scope: 403,
};

interface Endpoint {
  method: string;
  path: string;
  body?: unknown;
  ok: number;
}

/** Listing, creating, reading and the history of one kind of definition. */
const definitionRows = (kind: 'traits' | 'segments' | 'flags', key: string, create: object): Endpoint[] => [
  { method: 'GET', path: `/v1/admin/${kind}`, ok: 200 },
  { method: 'POST', path: `/v1/admin/${kind}`, body: { key, ...create }, ok: 201 },
  { method: 'GET', path: `/v1/admin/${kind}/${key}`, ok: 200 },
  { method: 'GET', path: `/v1/admin/${kind}/${key}/history`, ok: 200 },
];

// Every admin endpoint, with a body that succeeds for the right key.
const ENDPOINTS: Endpoint[] = [
  ...definitionRows('traits', 'auth_t', { expression: 'events.a.count_7d >= 1' }),
  { method: 'PUT', path: '/v1/admin/traits/auth_t', body: { expression: 'events.a.count_7d >= 2' }, ok: 200 },
  ...definitionRows('segments', 'auth_s', { rule: 'auth_t == true' }),
  { method: 'PUT', path: '/v1/admin/segments/auth_s', body: { rule: 'auth_t' }, ok: 200 },
  ...definitionRows('flags', 'auth_f', { rule: 'segment("auth_s")' }),
  { method: 'PUT', path: '/v1/admin/flags/auth_f', body: { rule: 'true' }, ok: 200 },
  { method: 'DELETE', path: '/v1/admin/flags/auth_f', ok: 200 },
  { method: 'DELETE', path: '/v1/admin/segments/auth_s', ok: 200 },
  { method: 'DELETE', path: '/v1/admin/traits/auth_t', ok: 200 },
  { method: 'POST', path: '/v1/admin/expressions/validate', body: { kind: 'trait', expression: 'true' }, ok: 200 },
  { method: 'POST', path: '/v1/admin/expressions/test', body: { kind: 'trait', expression: 'true', profile: {} }, ok: 200 },
  { method: 'GET', path: '/v1/admin/profiles/u1', ok: 200 },
  { method: 'GET', path: '/v1/admin/keys', ok: 200 },
  { method: 'POST', path: '/v1/admin/keys', body: { scope: 'read', name: 'auth-test' }, ok: 201 },
  { method: 'DELETE', path: '/v1/admin/keys/:created', ok: 200 },
];

describe('admin auth matrix (real Postgres keys)', () => {
  let t: TestAdmin;
  const secrets = {} as Record<Exclude<Cred, 'none' | 'malformed'>, string>;
  let createdKeyId = '';

  beforeAll(async () => {
    t = await startTestAdmin(getServices().databaseUrl, await createIsolatedSchema(getServices().databaseUrl), {
      profiles: { get: async (id) => (id === 'u1' ? emptyProfile('u1') : null) },
    });
    secrets.admin = t.adminKey;
    secrets.unknown = 'tcdp_' + 'A'.repeat(43);
    secrets.wrong_scope = (await createKey(t.db, 'read', 'reader')).key;
    const revoked = await createKey(t.db, 'admin', 'revoked admin');
    await t.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [revoked.id]);
    secrets.revoked = revoked.key;
  });
  afterAll(async () => {
    await t.close();
  });

  const send = (e: (typeof ENDPOINTS)[number], cred: Cred) => {
    const path = e.path.replace(':created', createdKeyId || 'key_none');
    if (cred === 'none') return t.call(e.method, path, e.body, {}, null);
    if (cred === 'malformed') return t.call(e.method, path, e.body, { authorization: 'Token abc' }, null);
    return t.call(e.method, path, e.body, {}, secrets[cred]);
  };

  // Rejections first (nothing changes), then the right key, in order (later rows use earlier ones).
  for (const e of ENDPOINTS) {
    it(`${e.method} ${e.path}`, async () => {
      for (const cred of Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]) {
        const r = await send(e, cred);
        expect(r.status, `${cred}: ${JSON.stringify(r.body)}`).toBe(EXPECTED[cred]);
        expect(r.body.error.code).toBe(EXPECTED[cred] === 401 ? 'unauthorized' : 'forbidden');
        if (EXPECTED[cred] === 401) expect(r.headers.get('www-authenticate')).toContain('Bearer');
      }
      const ok = await send(e, 'admin');
      expect(ok.status, JSON.stringify(ok.body)).toBe(e.ok);
      if (e.method === 'POST' && e.path === '/v1/admin/keys') createdKeyId = ok.body.id;
    });
  }

  it('health and metrics need no key', async () => {
    const h = await t.call('GET', '/admin/health', undefined, {}, null);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', service: 'admin', checks: { postgres: { status: 'ok' } } });
    expect(typeof h.body.checks.postgres.latencyMs).toBe('number');
    expect((await t.call('GET', '/health', undefined, {}, null)).status).toBe(200);
    const m = await t.call('GET', '/metrics', undefined, {}, null);
    expect(m.status).toBe(200);
    expect(m.body).toContain('tinycdp_admin_definition_writes_total');
  });

  it('unknown routes are JSON 404s (after auth)', async () => {
    const r = await t.call('GET', '/v1/admin/nothing');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});
