import { isPlainObject } from '@tinycdp/common';
import { principalOf } from '@tinycdp/http';
import { Router, type Request, type Response } from 'express';
import { kindPath } from './definition-draft';
import type { DefinitionService } from './definition-service';
import { etagOf, expectedVersions } from './preconditions';

const actorOf = (res: Response): string | null => principalOf(res)?.id ?? null;

function bodyField(req: Request, name: string): unknown {
  return isPlainObject(req.body) ? req.body[name] : undefined;
}

/**
 * `/v1/admin/<kind>s`: POST (201), GET (paged: `?limit&cursor`), GET/:key, GET/:key/history,
 * PUT/:key, DELETE/:key. Responses carry `ETag: "<version>"`; PUT and DELETE honour `If-Match`
 * or a `version` in the body (DELETE also `?version=`).
 */
export function createDefinitionController(service: DefinitionService): Router {
  const router = Router();
  const base = `/v1/admin/${kindPath(service.kind)}`;

  router.get('/', async (req, res) => {
    res.json(await service.list(req.query as Record<string, unknown>));
  });

  router.post('/', async (req, res) => {
    const view = await service.create(req.body, actorOf(res));
    res.status(201).set('ETag', etagOf(view.version)).location(`${base}/${view.key}`).json(view);
  });

  router.get('/:key', async (req, res) => {
    const view = await service.get(req.params.key as string);
    res.set('ETag', etagOf(view.version)).json(view);
  });

  router.get('/:key/history', async (req, res) => {
    res.json({ items: await service.history(req.params.key as string) });
  });

  router.put('/:key', async (req, res) => {
    const expected = expectedVersions(req.get('if-match'), bodyField(req, 'version'));
    const view = await service.replace(req.params.key as string, req.body, expected, actorOf(res));
    res.set('ETag', etagOf(view.version)).json(view);
  });

  router.delete('/:key', async (req, res) => {
    const expected = expectedVersions(req.get('if-match'), bodyField(req, 'version') ?? req.query.version);
    const out = await service.remove(req.params.key as string, expected, actorOf(res));
    res.set('ETag', etagOf(out.version)).json({ ...out, deleted: true });
  });

  return router;
}
