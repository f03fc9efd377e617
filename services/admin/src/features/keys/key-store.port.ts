import type { ApiKeyRecord, CreatedKey, KeyScope } from '@tinycdp/postgres';

/** Persistence of API keys. Secrets are never stored: only their sha-256 (see @tinycdp/postgres). */
export interface ApiKeyStore {
  transaction<T>(fn: (store: ApiKeyStore) => Promise<T>): Promise<T>;
  create(scope: KeyScope, name: string): Promise<CreatedKey>;
  /** Every key, newest first, without hashes. */
  list(): Promise<ApiKeyRecord[]>;
  /** Locks the row until the transaction ends. */
  getForUpdate(id: string): Promise<ApiKeyRecord | null>;
  /** Active (not revoked) admin keys. */
  countActiveAdmins(): Promise<number>;
  revoke(id: string, at: Date): Promise<ApiKeyRecord>;
}
