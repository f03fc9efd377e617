import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { createKeyController } from './key-controller';
import { KeyService } from './key-service';
import { PgApiKeyStore } from './key-store';

/** Wires `/v1/admin/keys`. */
export function createKeys(deps: { db: SqlClient; clock: Clock; logger: Logger }): { service: KeyService; router: Router } {
  const service = new KeyService(new PgApiKeyStore(deps.db, deps.clock), deps.clock, deps.logger.child({ feature: 'keys' }));
  return { service, router: createKeyController(service) };
}
