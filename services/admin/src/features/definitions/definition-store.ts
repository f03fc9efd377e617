import type { Definition, DefinitionKind } from '@tinycdp/engine';
import type { SqlClient } from '@tinycdp/postgres';
import type { DefinitionDraft } from './definition-draft';
import type {
  DefinitionHistoryEntry,
  DefinitionOp,
  DefinitionStatus,
  DefinitionStore,
  StoredDefinition,
} from './definition-store.port';
import type { PageRequest } from './pagination';

interface Row {
  kind: DefinitionKind;
  key: string;
  body: DefinitionDraft;
  version: number;
  status: DefinitionStatus;
  progress: unknown;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string | null;
}

const COLUMNS = 'kind, key, body, version, status, progress, created_at, updated_at, deleted_at';
const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();

function toStored(r: Row): StoredDefinition {
  return {
    kind: r.kind,
    key: r.key,
    body: r.body,
    version: r.version,
    status: r.status,
    progress: r.progress ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    deletedAt: r.deleted_at === null ? null : iso(r.deleted_at),
  };
}

/** Advisory lock serializing definition writes, per schema. Must not change between releases. */
const CATALOG_LOCK_SQL = `hashtext('tinycdp.catalog:' || current_schema())`;

/** `DefinitionStore` over the `definitions`, `definition_versions` and `outbox` tables. */
export class PgDefinitionStore implements DefinitionStore {
  constructor(private readonly db: SqlClient) {}

  transaction<T>(fn: (store: DefinitionStore) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgDefinitionStore(tx)));
  }

  async lockCatalog(): Promise<void> {
    await this.db.query(`SELECT pg_advisory_xact_lock(${CATALOG_LOCK_SQL})`);
  }

  async listLive(): Promise<StoredDefinition[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM definitions WHERE deleted_at IS NULL ORDER BY kind, key`,
    );
    return rows.map(toStored);
  }

  async get(kind: DefinitionKind, key: string, opts: { includeDeleted?: boolean } = {}): Promise<StoredDefinition | null> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM definitions WHERE kind = $1 AND key = $2 ${opts.includeDeleted ? '' : 'AND deleted_at IS NULL'}`,
      [kind, key],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  async page(kind: DefinitionKind, req: PageRequest): Promise<StoredDefinition[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM definitions
       WHERE kind = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR key COLLATE "C" > $2::text COLLATE "C")
       ORDER BY key COLLATE "C" LIMIT $3`,
      [kind, req.after, req.limit + 1],
    );
    return rows.map(toStored);
  }

  async save(body: DefinitionDraft, version: number, at: Date): Promise<StoredDefinition> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO definitions (kind, key, body, version, status, created_at, updated_at, deleted_at)
       VALUES ($1, $2, $3::jsonb, $4, 'live', $5, $5, NULL)
       ON CONFLICT (kind, key) DO UPDATE SET
         body = EXCLUDED.body,
         version = EXCLUDED.version,
         updated_at = EXCLUDED.updated_at,
         created_at = CASE WHEN definitions.deleted_at IS NULL THEN definitions.created_at ELSE EXCLUDED.created_at END,
         deleted_at = NULL
       RETURNING ${COLUMNS}`,
      [body.kind, body.key, JSON.stringify(body), version, at],
    );
    return toStored(rows[0]!);
  }

  async markDeleted(kind: DefinitionKind, key: string, version: number, at: Date): Promise<void> {
    await this.db.query(
      'UPDATE definitions SET deleted_at = $3, updated_at = $3, version = $4 WHERE kind = $1 AND key = $2',
      [kind, key, at, version],
    );
  }

  async appendHistory(e: {
    kind: DefinitionKind;
    key: string;
    version: number;
    op: DefinitionOp;
    definition: Definition | null;
    actor: string | null;
    at: Date;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO definition_versions (kind, key, version, body, op, actor, at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)`,
      [e.kind, e.key, e.version, e.definition === null ? null : JSON.stringify(e.definition), e.op, e.actor, e.at],
    );
  }

  async appendOutbox(topicKey: string, payload: Definition | null, at: Date): Promise<void> {
    await this.db.query('INSERT INTO outbox (topic_key, payload, created_at) VALUES ($1, $2::jsonb, $3)', [
      topicKey,
      payload === null ? null : JSON.stringify(payload),
      at,
    ]);
  }

  async history(kind: DefinitionKind, key: string): Promise<DefinitionHistoryEntry[]> {
    const { rows } = await this.db.query<{
      version: number;
      op: DefinitionOp;
      body: Definition | null;
      actor: string | null;
      at: Date | string;
    }>('SELECT version, op, body, actor, at FROM definition_versions WHERE kind = $1 AND key = $2 ORDER BY version', [
      kind,
      key,
    ]);
    return rows.map((r) => ({ version: r.version, op: r.op, definition: r.body, actor: r.actor, at: iso(r.at) }));
  }
}
