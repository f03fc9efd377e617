import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import { Router } from 'express';
import type { Logger } from 'pino';
import { createDefinitionController } from '../definitions/definition-controller';
import { DefinitionService } from '../definitions/definition-service';
import { PgDefinitionStore } from '../definitions/definition-store';
import type { RolloutStatusReader } from '../rollout/rollout-status-reader.port';
import { createMembers } from '../members/create-members';
import type { SegmentMembersReader } from '../members/segment-members-reader.port';
import { parseSegmentCreate, parseSegmentReplace } from './segment-rules';

/**
 * Wires `/v1/admin/segments`: segment body rules + the shared definition service, store and controller,
 * plus the members routes (`/:key/members`, `/:key/count`) over the processor's membership index.
 */
export function createSegments(deps: {
  db: SqlClient;
  clock: Clock;
  logger: Logger;
  onCommitted?: () => void;
  rollout?: RolloutStatusReader | undefined;
  members?: SegmentMembersReader | undefined;
}): { service: DefinitionService; router: Router } {
  const service = new DefinitionService({
    kind: 'segment',
    parsers: { create: parseSegmentCreate, replace: parseSegmentReplace },
    store: new PgDefinitionStore(deps.db),
    clock: deps.clock,
    logger: deps.logger.child({ feature: 'segments' }),
    ...(deps.onCommitted ? { onCommitted: deps.onCommitted } : {}),
    ...(deps.rollout ? { rollout: deps.rollout } : {}),
  });
  const router = Router();
  router.use(createMembers({ db: deps.db, members: deps.members }).router);
  router.use(createDefinitionController(service));
  return { service, router };
}
