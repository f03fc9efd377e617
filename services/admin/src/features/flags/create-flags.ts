import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { createDefinitionController } from '../definitions/definition-controller';
import { DefinitionService } from '../definitions/definition-service';
import { PgDefinitionStore } from '../definitions/definition-store';
import { parseFlagCreate, parseFlagReplace } from './flag-rules';

/** Wires `/v1/admin/flags`: flag body rules + the shared definition service, store and controller. */
export function createFlags(deps: {
  db: SqlClient;
  clock: Clock;
  logger: Logger;
  onCommitted?: () => void;
}): { service: DefinitionService; router: Router } {
  const service = new DefinitionService({
    kind: 'flag',
    parsers: { create: parseFlagCreate, replace: parseFlagReplace },
    store: new PgDefinitionStore(deps.db),
    clock: deps.clock,
    logger: deps.logger.child({ feature: 'flags' }),
    ...(deps.onCommitted ? { onCommitted: deps.onCommitted } : {}),
  });
  return { service, router: createDefinitionController(service) };
}
