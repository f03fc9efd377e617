/**
 * The port every Postgres-backed store is written against. Implemented over a pg Pool
 * (`PgSqlClient`) and, in embedded mode, over PGlite. Keep SQL portable: plain PostgreSQL, `$n`
 * parameters, no extensions.
 */
export interface SqlClient {
  /** Runs one statement. Throws the driver's error (it carries the SQLSTATE `code`). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** Runs a parameterless script that may hold several statements (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in a transaction: COMMIT if it resolves, ROLLBACK if it throws (and rethrows).
   * Calling `transaction` on the client passed to `fn` opens a savepoint.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
}
