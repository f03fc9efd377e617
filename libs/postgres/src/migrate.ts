import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgSqlClient } from './pg-sql-client';
import { quoteSchema } from './pool';
import type { SqlClient } from './sql-client';

export interface Migration {
  /** `001`, `002`, … (the file name's number; order of application). */
  readonly version: string;
  /** The file name without `.sql`, e.g. `001_init`. */
  readonly name: string;
  readonly sql: string;
}

export interface MigrateOptions {
  /** Schema to migrate (created if missing). Default: the connection's current schema. */
  schema?: string;
  /** Migrations to apply; default: the files in libs/postgres/migrations. */
  migrations?: readonly Migration[];
}

const FILE_RE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const DEFAULT_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Reads `NNN_name.sql` files from `dir`, sorted by number. Throws on a duplicate number. */
export function loadMigrations(dir: string = DEFAULT_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    const version = m[1]!;
    if (out.some((x) => x.version === version)) throw new Error(`duplicate migration number ${version}`);
    out.push({ version, name: file.slice(0, -4), sql: readFileSync(`${dir}/${file}`, 'utf8') });
  }
  return out;
}

function asClient(db: pg.Pool | SqlClient): SqlClient {
  return db instanceof pg.Pool ? new PgSqlClient(db) : db;
}

/**
 * Applies pending migrations, each in its own transaction, and records them in `schema_migrations`.
 * Every transaction first takes a transaction-scoped advisory lock (per schema), so instances
 * starting together apply each migration exactly once; re-running is a no-op.
 * Throws the database error of a failing migration (that migration is rolled back; earlier ones stay).
 */
export async function migrate(
  db: pg.Pool | SqlClient,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const client = asClient(db);
  const migrations = opts.migrations ?? loadMigrations();
  const schema = opts.schema;

  const prepare = async (tx: SqlClient): Promise<void> => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('tinycdp.migrate:' || coalesce($1::text, current_schema())))`, [
      schema ?? null,
    ]);
    if (schema !== undefined) {
      const q = quoteSchema(schema);
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${q}; SET LOCAL search_path TO ${q}, public`);
    }
  };

  const done = await client.transaction(async (tx) => {
    await prepare(tx);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text        PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: string }>('SELECT version FROM schema_migrations');
    return new Set(rows.map((r) => r.version));
  });

  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = await client.transaction(async (tx) => {
      await prepare(tx);
      // Another starter may have applied it while we waited for the lock.
      const { rows } = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (rows.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return { applied };
}
