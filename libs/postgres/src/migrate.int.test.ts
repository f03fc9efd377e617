import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, loadMigrations } from './migrate';
import { PgSqlClient } from './pg-sql-client';
import { createPool } from './pool';
import { createTestSchema, TEST_DATABASE_URL, type TestSchema } from './internal/test-schema';

describe('migrate (real Postgres)', () => {
  let t: TestSchema;
  beforeAll(async () => {
    t = await createTestSchema('mig');
  });
  afterAll(async () => {
    await t.drop();
  });

  it('applies every migration on a fresh schema, then re-runs as a no-op', async () => {
    const names = loadMigrations().map((m) => m.name);
    expect(names[0]).toBe('001_init');
    const first = await migrate(t.pool);
    expect(first.applied).toEqual(names);
    const again = await migrate(t.pool);
    expect(again.applied).toEqual([]);

    const db = new PgSqlClient(t.pool);
    const { rows } = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [t.schema],
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'api_keys',
      'definition_versions',
      'definitions',
      'outbox',
      'schema_migrations',
    ]);
  });

  it('concurrent starters apply each migration exactly once (schema option creates the schema)', async () => {
    const schema = `${t.schema}_c`;
    const pools = [0, 1, 2, 3].map(() => createPool({ connectionString: TEST_DATABASE_URL, max: 2 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { schema })));
      const all = results.flatMap((r) => r.applied);
      expect(all.sort()).toEqual(loadMigrations().map((m) => m.name));
      const { rows } = await pools[0]!.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
      expect(rows[0].n).toBe(loadMigrations().length);
    } finally {
      await pools[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const schema = `${t.schema}_f`;
    const pool = createPool({ connectionString: TEST_DATABASE_URL, max: 2 });
    try {
      const migrations = [
        { version: '001', name: '001_ok', sql: 'CREATE TABLE a (x int);' },
        { version: '002', name: '002_bad', sql: 'CREATE TABLE b (x int); SELECT no_such_function();' },
      ];
      await expect(migrate(pool, { schema, migrations })).rejects.toThrow(/no_such_function/);
      const { rows } = await pool.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [schema],
      );
      expect(rows.map((r) => r.table_name)).toEqual(['a', 'schema_migrations']);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});
