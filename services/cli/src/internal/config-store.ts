import { mkdirSync } from 'node:fs';
import {
  createKey,
  createPool,
  KEY_COLUMNS,
  migrate,
  PgSqlClient,
  PGliteSqlClient,
  toKeyRecord,
  type ApiKeyRecord,
  type KeyScope,
  type SqlClient,
} from '@tinycdp/postgres';
import { ControlClient, ControlError } from './control-client';
import { findRunningServer, pgliteDir, resolveDataDir, type ServerInfo } from './data-dir';
import { CliError, describeError } from './errors';

/** Which config store a command talks to. */
export type StoreTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  /** The embedded store, opened by this process. `staleServerFile`: a server.json whose pid is gone. */
  | { readonly kind: 'pglite'; readonly dataDir: string; readonly dir: string; readonly staleServerFile?: string }
  /** The embedded store is held by a running all-in-one server: go through its control endpoints. */
  | { readonly kind: 'server'; readonly dataDir: string; readonly info: ServerInfo; readonly path: string };

/**
 * DATABASE_URL when set; otherwise the embedded store under the data dir — through the running server
 * when `<dataDir>/server.json` names a live process, else opened directly.
 * Throws CliError on an invalid server.json.
 */
export function resolveStore(env: Record<string, string | undefined>): StoreTarget {
  const url = env.DATABASE_URL?.trim();
  if (url) return { kind: 'postgres', url };
  const dataDir = resolveDataDir(env);
  const found = findRunningServer(dataDir);
  if (found.state === 'running') return { kind: 'server', dataDir, info: found.info, path: found.path };
  return {
    kind: 'pglite',
    dataDir,
    dir: pgliteDir(dataDir),
    ...(found.state === 'stale' ? { staleServerFile: found.path } : {}),
  };
}

/** A Postgres URL with the password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(DATABASE_URL)';
  }
}

export function describeTarget(t: StoreTarget): string {
  switch (t.kind) {
    case 'postgres':
      return `Postgres ${redactUrl(t.url)}`;
    case 'pglite':
      return `embedded store ${t.dir}`;
    case 'server':
      return `running server (pid ${t.info.pid}, port ${t.info.port})`;
  }
}

export interface OpenedStore {
  readonly db: SqlClient;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Opens a SQL connection to a `postgres` or `pglite` target (creating the data dir for PGlite).
 * Throws CliError when it cannot connect.
 */
export async function openSqlStore(t: Exclude<StoreTarget, { kind: 'server' }>): Promise<OpenedStore> {
  if (t.kind === 'postgres') {
    const pool = createPool({ connectionString: t.url, max: 2, applicationName: 'tinycdp-cli' });
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new CliError(`cannot connect to Postgres at ${redactUrl(t.url)}: ${describeError(err)}`, 1, { cause: err });
    }
    return { db: new PgSqlClient(pool), description: describeTarget(t), close: () => pool.end() };
  }
  mkdirSync(t.dataDir, { recursive: true });
  // Loaded on demand: only embedded mode pays for the WASM start-up.
  const { PGlite } = await import('@electric-sql/pglite');
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(t.dir);
  } catch (err) {
    throw new CliError(`cannot open the embedded store at ${t.dir}: ${describeError(err)}`, 1, { cause: err });
  }
  return { db: new PGliteSqlClient(pg), description: describeTarget(t), close: () => pg.close() };
}

export interface CreatedKeyOut {
  readonly id: string;
  readonly name: string;
  readonly scope: KeyScope;
  readonly key: string;
  readonly prefix?: string;
  readonly createdAt?: string;
}

/** API key operations, the same over Postgres, PGlite and a running server's control endpoints. */
export interface KeyAdmin {
  readonly description: string;
  /** Throws CliError. */
  create(scope: KeyScope, name: string): Promise<CreatedKeyOut>;
  /** Newest first. Throws CliError. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes (idempotent). Throws CliError for an unknown id, and for the last active admin key unless `force`. */
  revoke(id: string, opts?: { force?: boolean }): Promise<{ key: ApiKeyRecord; alreadyRevoked: boolean }>;
  close(): Promise<void>;
}

type KeyRow = Parameters<typeof toKeyRecord>[0];

const lastAdminMessage = (id: string) =>
  `"${id}" is the last active admin key: revoking it locks everyone out of the admin API. ` +
  'Create another admin key first, or pass --force.';

/** Maps "relation api_keys does not exist" to advice; other errors pass through. */
function storeError(err: unknown): never {
  if ((err as { code?: unknown }).code === '42P01') {
    throw new CliError('the config store has no api_keys table yet: run `tinycdp migrate` first', 1, { cause: err });
  }
  if (err instanceof CliError) throw err;
  throw new CliError(describeError(err), 1, { cause: err });
}

/** `KeyAdmin` over SQL (Postgres or PGlite). */
export class SqlKeyAdmin implements KeyAdmin {
  constructor(
    private readonly store: OpenedStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get description(): string {
    return this.store.description;
  }

  create(scope: KeyScope, name: string): Promise<CreatedKeyOut> {
    return createKey(this.store.db, scope, name).catch(storeError);
  }

  async list(): Promise<ApiKeyRecord[]> {
    try {
      const { rows } = await this.store.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id`);
      return rows.map(toKeyRecord);
    } catch (err) {
      return storeError(err);
    }
  }

  async revoke(id: string, opts: { force?: boolean } = {}): Promise<{ key: ApiKeyRecord; alreadyRevoked: boolean }> {
    try {
      return await this.store.db.transaction(async (tx) => {
        const found = await tx.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
        const row = found.rows[0];
        if (!row) throw new CliError(`no API key with id "${id}" (see \`tinycdp keys list\`)`);
        if (row.revoked_at !== null) return { key: toKeyRecord(row), alreadyRevoked: true };
        if (row.scope === 'admin' && !opts.force) {
          const { rows } = await tx.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL`,
          );
          if ((rows[0]?.n ?? 0) <= 1) throw new CliError(lastAdminMessage(id));
        }
        const { rows } = await tx.query<KeyRow>(
          `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
          [id, this.now()],
        );
        return { key: toKeyRecord(rows[0]!), alreadyRevoked: false };
      });
    } catch (err) {
      return storeError(err);
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function controlFailure(err: unknown): never {
  if (err instanceof ControlError) throw new CliError(err.message, 1, { cause: err });
  throw err;
}

/** `KeyAdmin` through a running server's control endpoints (see control-client.ts). */
export class ServerKeyAdmin implements KeyAdmin {
  readonly description: string;
  private readonly client: ControlClient;

  constructor(t: Extract<StoreTarget, { kind: 'server' }>, client?: ControlClient) {
    this.description = describeTarget(t);
    this.client = client ?? new ControlClient({ port: t.info.port, token: t.info.controlToken });
  }

  create(scope: KeyScope, name: string): Promise<CreatedKeyOut> {
    return this.client.createKey(scope, name).catch(controlFailure);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.client.listKeys().catch(controlFailure);
  }

  async revoke(id: string, opts: { force?: boolean } = {}): Promise<{ key: ApiKeyRecord; alreadyRevoked: boolean }> {
    const all = await this.list();
    const existing = all.find((k) => k.id === id);
    if (!existing) throw new CliError(`no API key with id "${id}" (see \`tinycdp keys list\`)`);
    if (existing.revokedAt !== null) return { key: existing, alreadyRevoked: true };
    // Checked here too (not atomically: a guard against mistakes, the server may check again).
    if (existing.scope === 'admin' && !opts.force && all.filter((k) => k.scope === 'admin' && k.revokedAt === null).length <= 1) {
      throw new CliError(lastAdminMessage(id));
    }
    await this.client.revokeKey(id).catch(controlFailure);
    const after = (await this.list()).find((k) => k.id === id);
    return { key: after ?? { ...existing, revokedAt: new Date().toISOString() }, alreadyRevoked: false };
  }

  async close(): Promise<void> {}
}

/**
 * The `KeyAdmin` for the environment (see `resolveStore`). The embedded store is migrated on open
 * (the server does the same at start-up); Postgres is not — migrations there are the operator's call.
 * `onNote` receives notices for stderr (e.g. a stale server.json being ignored). Throws CliError.
 */
export async function openKeyAdmin(
  env: Record<string, string | undefined>,
  onNote: (msg: string) => void = () => undefined,
): Promise<KeyAdmin> {
  const t = resolveStore(env);
  if (t.kind === 'server') return new ServerKeyAdmin(t);
  if (t.kind === 'pglite' && t.staleServerFile) {
    onNote(`note: ignoring ${t.staleServerFile}: the server that wrote it is no longer running`);
  }
  const store = await openSqlStore(t);
  if (t.kind === 'pglite') {
    try {
      await migrate(store.db);
    } catch (err) {
      await store.close();
      throw new CliError(`cannot migrate the embedded store at ${t.dir}: ${describeError(err)}`, 1, { cause: err });
    }
  }
  return new SqlKeyAdmin(store);
}
