import type { Clock } from '@tinycdp/common';
import { createKey, KEY_COLUMNS, toKeyRecord, type ApiKeyRecord, type CreatedKey, type KeyScope, type SqlClient } from '@tinycdp/postgres';
import type { ApiKeyStore } from './key-store.port';

type KeyRow = Parameters<typeof toKeyRecord>[0];

/** `ApiKeyStore` over the `api_keys` table. */
export class PgApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly db: SqlClient,
    private readonly clock: Clock,
  ) {}

  transaction<T>(fn: (store: ApiKeyStore) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgApiKeyStore(tx, this.clock)));
  }

  create(scope: KeyScope, name: string): Promise<CreatedKey> {
    return createKey(this.db, scope, name, this.clock);
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id`);
    return rows.map(toKeyRecord);
  }

  async getForUpdate(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toKeyRecord(rows[0]) : null;
  }

  async countActiveAdmins(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL`,
    );
    return rows[0]?.n ?? 0;
  }

  async revoke(id: string, at: Date): Promise<ApiKeyRecord> {
    const { rows } = await this.db.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
      [id, at],
    );
    return toKeyRecord(rows[0]!);
  }
}
