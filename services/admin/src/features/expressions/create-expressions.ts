import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import { PgDefinitionStore } from '../definitions/definition-store';
import type { ProfileReader } from '../profiles/profile-reader.port';
import { createExpressionController } from './expression-controller';
import { ExpressionService } from './expression-service';

/** Wires `/v1/admin/expressions` (validate, test). */
export function createExpressions(deps: { db: SqlClient; clock: Clock; profiles?: ProfileReader | undefined }): {
  service: ExpressionService;
  router: Router;
} {
  const service = new ExpressionService(new PgDefinitionStore(deps.db), deps.clock, deps.profiles);
  return { service, router: createExpressionController(service) };
}
