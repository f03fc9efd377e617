import { AppError, type Clock } from '@tinycdp/common';
import type { ApiKeyRecord, CreatedKey } from '@tinycdp/postgres';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseBody } from '../definitions/body-rules';
import type { ApiKeyStore } from './key-store.port';

const createSchema = z.strictObject({
  scope: z.enum(['write', 'read', 'admin']),
  name: z.string().trim().min(1, 'name is required').max(100),
});

/** Rules for API keys: creation (secret returned once), listing (no secrets), revocation. */
export class KeyService {
  constructor(
    private readonly store: ApiKeyStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Throws validation_failed. The result holds the secret: return it to the caller, never log it. */
  async create(body: unknown, actor: string | null): Promise<CreatedKey> {
    const b = parseBody(createSchema, body);
    const created = await this.store.create(b.scope, b.name);
    this.logger.info({ keyId: created.id, scope: created.scope, prefix: created.prefix, actor }, 'api_key_created');
    return created;
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.list();
  }

  /**
   * Revokes a key (idempotent). Throws not_found, or conflict when it is the last active admin key
   * (revoking it would lock everyone out of the admin API).
   */
  async revoke(id: string, actor: string | null): Promise<ApiKeyRecord> {
    const at = new Date(this.clock.now());
    const out = await this.store.transaction(async (store) => {
      const key = await store.getForUpdate(id);
      if (!key) throw new AppError('not_found', `API key "${id}" not found`, { details: { id } });
      if (key.revokedAt !== null) return key;
      if (key.scope === 'admin' && (await store.countActiveAdmins()) <= 1) {
        throw new AppError('conflict', 'cannot revoke the last active admin key', { details: { id } });
      }
      return store.revoke(id, at);
    });
    this.logger.info({ keyId: id, actor }, 'api_key_revoked');
    return out;
  }
}
