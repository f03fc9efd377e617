import type { TraitDefinition } from '@tinycdp/engine';
import { z } from 'zod';
import { descriptionSchema, parseBody, replaceKey, versionSchema } from '../definitions/body-rules';
import { assertDefinitionKey } from '../definitions/key-rules';

const expression = z.string().trim().min(1, 'expression is required').max(4000);

const createSchema = z.strictObject({ key: z.string(), expression, description: descriptionSchema });
const replaceSchema = z.strictObject({
  key: z.string().optional(),
  expression,
  description: descriptionSchema,
  version: versionSchema,
});

export type TraitDraft = Omit<TraitDefinition, 'version'>;

function draft(key: string, body: { expression: string; description?: string | undefined }): TraitDraft {
  return body.description === undefined
    ? { kind: 'trait', key, expression: body.expression }
    : { kind: 'trait', key, expression: body.expression, description: body.description };
}

/** `POST /v1/admin/traits` body `{key, expression, description?}`. Throws validation_failed. */
export function parseTraitCreate(body: unknown): TraitDraft {
  const b = parseBody(createSchema, body);
  return draft(assertDefinitionKey(b.key), b);
}

/** `PUT /v1/admin/traits/:key` body `{expression, description?, key?, version?}`. */
export function parseTraitReplace(pathKey: string, body: unknown): TraitDraft {
  const b = parseBody(replaceSchema, body);
  return draft(replaceKey(pathKey, b.key), b);
}
