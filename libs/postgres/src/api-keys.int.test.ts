import { FakeClock } from '@tinycdp/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey, ensureAdminKey, hashKeySecret, KEY_SECRET_PREFIX } from './api-keys';
import { createTestSchema, type TestSchema } from './internal/test-schema';
import { migrate } from './migrate';
import { PgKeyVerifier } from './pg-key-verifier';
import { PgSqlClient } from './pg-sql-client';
import type { SqlClient } from './sql-client';

describe('API keys over Postgres', () => {
  let t: TestSchema;
  let db: PgSqlClient;
  beforeAll(async () => {
    t = await createTestSchema('keys');
    await migrate(t.pool);
    db = new PgSqlClient(t.pool);
  });
  afterAll(async () => {
    await t.drop();
  });
  const revoke = (id: string) => db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);

  it('stores only the hash and a short display prefix', async () => {
    const k = await createKey(db, 'write', 'ingest');
    expect(k.key.startsWith(KEY_SECRET_PREFIX)).toBe(true);
    expect(Buffer.from(k.key.slice(KEY_SECRET_PREFIX.length), 'base64url')).toHaveLength(32);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [k.id]);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(k.key);
    expect(stored).not.toContain(k.key.slice(12));
    expect(rows[0]!.hash).toBe(hashKeySecret(k.key));
  });

  it('ensureAdminKey is idempotent, also when racing, and never un-revokes', async () => {
    const secret = `tcdp_${'a'.repeat(40)}`;
    const results = await Promise.all([1, 2, 3].map(() => ensureAdminKey(db, secret)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    await revoke(results[0]!.id);
    expect(await ensureAdminKey(db, secret)).toMatchObject({ created: false, revoked: true });
  });

  it('verifies, rejects unknown and revoked keys, caches within the TTL', async () => {
    const clock = new FakeClock(0);
    const v = new PgKeyVerifier(db, { clock, ttlMs: 5_000 });
    const k = await createKey(db, 'read', 'decide');
    expect(v.verifyCached(k.key)).toBeUndefined(); // not known without a query yet
    expect(await v.verify(k.key)).toEqual({ id: k.id, name: 'decide', scope: 'read' });
    expect(v.verifyCached(k.key)).toEqual({ id: k.id, name: 'decide', scope: 'read' });
    expect(await v.verify(`${k.key}x`)).toBeNull();
    expect(v.verifyCached(`${k.key}x`)).toBeNull(); // unknown keys are cached too (within the TTL)
    expect(await v.verify('')).toBeNull();

    await revoke(k.id);
    expect(await v.verify(k.key)).not.toBeNull(); // cached
    clock.advance(5_001);
    expect(v.verifyCached(k.key)).toBeUndefined(); // expired: the caller must ask verify()
    expect(await v.verify(k.key)).toBeNull();
    expect(v.verifyCached(k.key)).toBeNull(); // revoked, from the fresh entry
  });

  it('reloads a key in use in the last fifth of its TTL, in the background (refresh-ahead)', async () => {
    const clock = new FakeClock(0);
    const v = new PgKeyVerifier(db, { clock, ttlMs: 5_000 });
    const k = await createKey(db, 'read', 'refresh');
    expect(await v.verify(k.key)).not.toBeNull();
    await revoke(k.id);
    // Early in the TTL: served from the cache, nothing reloaded.
    clock.advance(3_000);
    expect(v.verifyCached(k.key)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    expect(v.verifyCached(k.key)).not.toBeNull();
    // Past 80% of the TTL: still served at once (no wait), and reloaded meanwhile: the revocation shows
    // before the TTL ran out, without any request having had to wait for the query.
    clock.advance(1_100);
    expect(v.verifyCached(k.key)).not.toBeNull();
    await vi.waitFor(() => expect(v.verifyCached(k.key)).toBeNull(), { timeout: 5_000 });
    expect(clock.now()).toBeLessThan(5_000);
  });

  it('rides out a database outage with stale positive entries only', async () => {
    const clock = new FakeClock(0);
    let down = false;
    const flaky: SqlClient = {
      query: (sql, params) => (down ? Promise.reject(new Error('connection refused')) : db.query(sql, params)),
      exec: (sql) => db.exec(sql),
      transaction: (fn) => db.transaction(fn),
    };
    const errors: unknown[] = [];
    const v = new PgKeyVerifier(flaky, { clock, ttlMs: 1_000, staleIfErrorMs: 60_000, onError: (e) => errors.push(e) });
    const k = await createKey(db, 'write', 'w');
    expect(await v.verify(k.key)).not.toBeNull();
    down = true;
    clock.advance(30_000);
    expect(await v.verify(k.key)).toMatchObject({ id: k.id });
    await expect(v.verify('tcdp_unknown')).rejects.toMatchObject({ code: 'unavailable', retriable: true });
    clock.advance(40_000);
    await expect(v.verify(k.key)).rejects.toMatchObject({ code: 'unavailable' });
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a TTL above 10 s is capped', async () => {
    const clock = new FakeClock(0);
    const v = new PgKeyVerifier(db, { clock, ttlMs: 60_000 });
    const k = await createKey(db, 'admin', 'a');
    expect(await v.verify(k.key)).not.toBeNull();
    await revoke(k.id);
    clock.advance(10_001);
    expect(await v.verify(k.key)).toBeNull();
  });
});
