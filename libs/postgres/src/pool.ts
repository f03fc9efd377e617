import pg from 'pg';

export interface PoolOptions {
  connectionString: string;
  /**
   * Schema to put first on the search_path of every connection (tests isolate with one schema each).
   * The schema is not created here; `migrate` creates it.
   */
  schema?: string;
  /** Maximum connections (default 10). */
  max?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
  /** Per-statement timeout in ms (default 30 s); 0 disables. */
  statementTimeoutMs?: number;
  /**
   * Bound on opening a connection (default 5 s). pg's own default is no bound: with the database
   * unreachable (dropped packets, not a refused port) every request would wait forever instead of
   * failing as 'unavailable'.
   */
  connectTimeoutMs?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quotes a schema name after checking it is a plain identifier. Throws on anything else. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid schema name: ${JSON.stringify(schema)}`);
  return `"${schema}"`;
}

/**
 * A pg Pool whose connections use `schema` as search_path (set at connection start through the
 * `options` startup parameter, so it holds for every query on every pooled connection).
 * Throws if `schema` is not a plain lower-case identifier.
 */
export function createPool(opts: PoolOptions): pg.Pool {
  const config: pg.PoolConfig = {
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'tinycdp',
    statement_timeout: opts.statementTimeoutMs ?? 30_000,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
  };
  if (opts.schema !== undefined) {
    config.options = `-c search_path=${quoteSchema(opts.schema)},public`;
  }
  const pool = new pg.Pool(config);
  // An idle client erroring (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  return pool;
}
