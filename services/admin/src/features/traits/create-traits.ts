import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { createDefinitionController } from '../definitions/definition-controller';
import { DefinitionService } from '../definitions/definition-service';
import { PgDefinitionStore } from '../definitions/definition-store';
import type { RolloutStatusReader } from '../rollout/rollout-status-reader.port';
import { parseTraitCreate, parseTraitReplace } from './trait-rules';

/** Wires `/v1/admin/traits`: trait body rules + the shared definition service, store and controller. */
export function createTraits(deps: {
  db: SqlClient;
  clock: Clock;
  logger: Logger;
  onCommitted?: () => void;
  rollout?: RolloutStatusReader | undefined;
}): { service: DefinitionService; router: Router } {
  const service = new DefinitionService({
    kind: 'trait',
    parsers: { create: parseTraitCreate, replace: parseTraitReplace },
    store: new PgDefinitionStore(deps.db),
    clock: deps.clock,
    logger: deps.logger.child({ feature: 'traits' }),
    ...(deps.onCommitted ? { onCommitted: deps.onCommitted } : {}),
    ...(deps.rollout ? { rollout: deps.rollout } : {}),
  });
  return { service, router: createDefinitionController(service) };
}
