// Test support only (not exported from index.ts): a fresh schema per test file on the real Postgres.
// Uses DATABASE_URL (the integration globalSetup exports it) rather than @tinycdp/testkit: lint lets only
// *.test.ts files import testkit.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../pool';

export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  readonly schema: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

export async function createTestSchema(prefix = 't'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  const pool = createPool({ connectionString: TEST_DATABASE_URL, schema, max: 5 });
  return {
    schema,
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}
