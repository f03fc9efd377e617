import type { SegmentDefinition } from '@tinycdp/engine';
import { z } from 'zod';
import { descriptionSchema, parseBody, replaceKey, versionSchema } from '../definitions/body-rules';
import { assertDefinitionKey } from '../definitions/key-rules';

const rule = z.string().trim().min(1, 'rule is required').max(4000);

const createSchema = z.strictObject({ key: z.string(), rule, description: descriptionSchema });
const replaceSchema = z.strictObject({
  key: z.string().optional(),
  rule,
  description: descriptionSchema,
  version: versionSchema,
});

export type SegmentDraft = Omit<SegmentDefinition, 'version'>;

function draft(key: string, body: { rule: string; description?: string | undefined }): SegmentDraft {
  return body.description === undefined
    ? { kind: 'segment', key, rule: body.rule }
    : { kind: 'segment', key, rule: body.rule, description: body.description };
}

/** `POST /v1/admin/segments` body `{key, rule, description?}`. Throws validation_failed. */
export function parseSegmentCreate(body: unknown): SegmentDraft {
  const b = parseBody(createSchema, body);
  return draft(assertDefinitionKey(b.key), b);
}

/** `PUT /v1/admin/segments/:key` body `{rule, description?, key?, version?}`. */
export function parseSegmentReplace(pathKey: string, body: unknown): SegmentDraft {
  const b = parseBody(replaceSchema, body);
  return draft(replaceKey(pathKey, b.key), b);
}
