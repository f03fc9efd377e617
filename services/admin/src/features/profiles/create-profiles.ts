import type { Clock } from '@tinycdp/common';
import type { SqlClient } from '@tinycdp/postgres';
import type { Router } from 'express';
import { PgDefinitionStore } from '../definitions/definition-store';
import { createProfileController } from './profile-controller';
import type { ProfileReader } from './profile-reader.port';
import { ProfileService } from './profile-service';

/** Wires `/v1/admin/profiles` over a ProfileReader (Redis or embedded state). */
export function createProfiles(deps: { db: SqlClient; clock: Clock; profiles?: ProfileReader | undefined }): {
  service: ProfileService;
  router: Router;
} {
  const service = new ProfileService(new PgDefinitionStore(deps.db), deps.clock, deps.profiles);
  return { service, router: createProfileController(service) };
}
