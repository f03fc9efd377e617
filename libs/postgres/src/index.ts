// Public API of @tinycdp/postgres: the SqlClient port and its pg implementation, pool factory,
// migrations, API key primitives and the Postgres KeyVerifier.
export type { SqlClient } from './sql-client';
export { PgSqlClient } from './pg-sql-client';
export { PGliteSqlClient } from './pglite-sql-client';
export { createPool, quoteSchema } from './pool';
export type { PoolOptions } from './pool';
export { migrate, loadMigrations } from './migrate';
export type { Migration, MigrateOptions } from './migrate';
export {
  KEY_SCOPES,
  KEY_SECRET_PREFIX,
  KEY_COLUMNS,
  generateKeySecret,
  hashKeySecret,
  keyDisplayPrefix,
  toKeyRecord,
  createKey,
  ensureAdminKey,
} from './api-keys';
export type { KeyScope, ApiKeyRecord, CreatedKey } from './api-keys';
export { PgKeyVerifier } from './pg-key-verifier';
export type { VerifiedKey, PgKeyVerifierOptions } from './pg-key-verifier';
