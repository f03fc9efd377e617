import { Router } from 'express';
import type { ExpressionService } from './expression-service';

/**
 * `/v1/admin/expressions`: POST /validate `{kind, expression}` → 200 `{valid, type, diagnostics,
 * requirements}` (200 even when invalid: it is a query); POST /test `{kind, expression, userId | profile,
 * context?, at?}` → `{value, inputs, type, requirements}`.
 */
export function createExpressionController(service: ExpressionService): Router {
  const router = Router();
  router.post('/validate', async (req, res) => {
    res.json(await service.validate(req.body));
  });
  router.post('/test', async (req, res) => {
    res.json(await service.test(req.body));
  });
  return router;
}
