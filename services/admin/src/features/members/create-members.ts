import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import { PgDefinitionStore } from '../definitions/definition-store';
import { createMembersController } from './members-controller';
import { MembersService } from './members-service';
import type { SegmentMembersReader } from './segment-members-reader.port';

/** Wires the members routes (mounted under `/v1/admin/segments`) over a SegmentMembersReader. */
export function createMembers(deps: { db: SqlClient; members?: SegmentMembersReader | undefined }): { service: MembersService; router: Router } {
  const service = new MembersService(new PgDefinitionStore(deps.db), deps.members);
  return { service, router: createMembersController(service) };
}
