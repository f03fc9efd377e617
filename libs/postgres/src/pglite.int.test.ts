import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, ensureAdminKey, hashKeySecret } from './api-keys';
import { loadMigrations, migrate } from './migrate';
import { PGliteSqlClient } from './pglite-sql-client';

// The same migrations must run on PGlite (embedded mode).
describe('migrations and key SQL on PGlite', { timeout: 120_000 }, () => {
  let pg: PGlite;
  let db: PGliteSqlClient;
  beforeAll(async () => {
    pg = new PGlite();
    await pg.waitReady; // WASM start-up can take a while on a busy machine
    db = new PGliteSqlClient(pg);
  });
  afterAll(async () => {
    await pg.close();
  });

  it('migrates, re-runs idempotently, and supports schemas', async () => {
    expect((await migrate(db)).applied).toEqual(loadMigrations().map((m) => m.name));
    expect((await migrate(db)).applied).toEqual([]);
    expect((await migrate(db, { schema: 'other' })).applied.length).toBe(loadMigrations().length);
  });

  it('creates and ensures keys', async () => {
    const k = await createKey(db, 'read', 'r');
    const { rows } = await db.query<{ hash: string }>('SELECT hash FROM api_keys WHERE id = $1', [k.id]);
    expect(rows[0]!.hash).toBe(hashKeySecret(k.key));
    const a = await ensureAdminKey(db, 'x'.repeat(32));
    const b = await ensureAdminKey(db, 'x'.repeat(32));
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false, revoked: false });
  });

  it('rolls back transactions and savepoints', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO outbox (topic_key, payload) VALUES ('trait:a', $1::jsonb)`, ['{"a":1}']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO outbox (topic_key, payload) VALUES ('trait:b', NULL)`);
      await tx
        .transaction(async (inner) => {
          await inner.query(`INSERT INTO outbox (topic_key, payload) VALUES ('trait:c', NULL)`);
          throw new Error('inner');
        })
        .catch(() => undefined);
    });
    const { rows } = await db.query<{ topic_key: string }>('SELECT topic_key FROM outbox ORDER BY id');
    expect(rows.map((r) => r.topic_key)).toEqual(['trait:b']);
  });
});
