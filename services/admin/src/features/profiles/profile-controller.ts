import { Router } from 'express';
import type { ProfileService } from './profile-service';

/** `/v1/admin/profiles/:id`: the profile's traits and segments as of now. */
export function createProfileController(service: ProfileService): Router {
  const router = Router();
  router.get('/:id', async (req, res) => {
    res.json(await service.get(req.params.id as string));
  });
  return router;
}
