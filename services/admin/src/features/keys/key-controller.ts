import { principalOf } from '@tinycdp/http';
import { Router } from 'express';
import type { KeyService } from './key-service';

/** `/v1/admin/keys`: POST `{scope, name}` → 201 with the secret (only time it is shown); GET; DELETE /:id. */
export function createKeyController(service: KeyService): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const k = await service.create(req.body, principalOf(res)?.id ?? null);
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .location(`/v1/admin/keys/${k.id}`)
      .json({ id: k.id, name: k.name, scope: k.scope, key: k.key, prefix: k.prefix, createdAt: k.createdAt });
  });

  router.get('/', async (_req, res) => {
    res.json({ items: await service.list() });
  });

  router.delete('/:id', async (req, res) => {
    res.json(await service.revoke(req.params.id as string, principalOf(res)?.id ?? null));
  });

  return router;
}
