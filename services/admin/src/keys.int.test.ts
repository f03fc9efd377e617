import { createIsolatedSchema, getServices } from '@tinycdp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './internal/test-app';

describe('API keys endpoints (real Postgres)', () => {
  let t: TestAdmin;
  beforeAll(async () => {
    t = await startTestAdmin(getServices().databaseUrl, await createIsolatedSchema(getServices().databaseUrl));
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates a key shown once, stores only its hash, lists without secrets', async () => {
    const r = await t.call('POST', '/v1/admin/keys', { scope: 'write', name: 'ingest' });
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'id', 'key', 'name', 'prefix', 'scope']);
    const secret: string = r.body.key;
    expect(secret).toMatch(/^tcdp_[A-Za-z0-9_-]{43}$/);

    // The key works (write scope → 403 on admin, not 401).
    expect((await t.call('GET', '/v1/admin/keys', undefined, {}, secret)).status).toBe(403);

    const list = await t.call('GET', '/v1/admin/keys');
    expect(list.status).toBe(200);
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('hash');
    expect(list.body.items.find((k: any) => k.id === r.body.id)).toMatchObject({ name: 'ingest', scope: 'write', revokedAt: null });

    // Nothing in the database holds the secret (or its random part).
    const dump = await t.db.query<{ t: string }>(
      `SELECT string_agg(row_to_json(k)::text, '|') AS t FROM api_keys k`,
    );
    expect(dump.rows[0]!.t).not.toContain(secret);
    expect(dump.rows[0]!.t).not.toContain(secret.slice(12));
  });

  it('revokes (idempotently); a revoked key stops working; 404 for unknown ids', async () => {
    const created = await t.call('POST', '/v1/admin/keys', { scope: 'admin', name: 'second admin' });
    expect((await t.call('GET', '/v1/admin/keys', undefined, {}, created.body.key)).status).toBe(200);
    const del = await t.call('DELETE', `/v1/admin/keys/${created.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body.revokedAt).not.toBeNull();
    expect((await t.call('DELETE', `/v1/admin/keys/${created.body.id}`)).body.revokedAt).toBe(del.body.revokedAt);
    expect((await t.call('GET', '/v1/admin/keys', undefined, {}, created.body.key)).status).toBe(401);
    expect((await t.call('DELETE', '/v1/admin/keys/key_nope')).status).toBe(404);
  });

  it('refuses to revoke the last active admin key', async () => {
    const list = await t.call('GET', '/v1/admin/keys');
    const me = list.body.items.find((k: any) => k.name === 'test admin');
    const r = await t.call('DELETE', `/v1/admin/keys/${me.id}`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('conflict');
  });

  it('400 naming the field for bad bodies', async () => {
    const scope = await t.call('POST', '/v1/admin/keys', { scope: 'root', name: 'x' });
    expect(scope.status).toBe(400);
    expect(scope.body.error.details.field).toBe('scope');
    const name = await t.call('POST', '/v1/admin/keys', { scope: 'read' });
    expect(name.body.error.details.field).toBe('name');
  });
});
