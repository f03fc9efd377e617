import { Router } from 'express';
import type { MembersService } from './members-service';

/** `/v1/admin/segments/:key/members?limit&cursor` (cursor-paginated, id order) and `/:key/count`. */
export function createMembersController(service: MembersService): Router {
  const router = Router();
  router.get('/:key/members', async (req, res) => {
    res.json(await service.list(req.params.key as string, req.query as Record<string, unknown>));
  });
  router.get('/:key/count', async (req, res) => {
    res.json(await service.count(req.params.key as string));
  });
  return router;
}
