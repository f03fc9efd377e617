import { AppError } from '@tinycdp/common';
import { z } from 'zod';
import { assertDefinitionKey } from './key-rules';

/** Turns zod issues into one 400 naming every offending field. */
export function validationError(error: z.ZodError): AppError {
  const issues = error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));
  const first = issues[0];
  return new AppError('validation_failed', first ? `${first.field}: ${first.message}` : 'invalid body', {
    details: { field: first?.field, issues },
  });
}

/** Parses with `schema`; throws AppError('validation_failed') listing every issue. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const res = schema.safeParse(body ?? {});
  if (!res.success) throw validationError(res.error);
  return res.data;
}

export const descriptionSchema = z.string().max(1000).optional();
export const versionSchema = z.number().int().min(1).optional();

/**
 * The key of a PUT: taken from the path; a `key` in the body is allowed only if it is the same.
 * Throws AppError('validation_failed') otherwise.
 */
export function replaceKey(pathKey: string, bodyKey: unknown): string {
  const key = assertDefinitionKey(pathKey);
  if (bodyKey !== undefined && bodyKey !== key) {
    throw new AppError('validation_failed', 'key in the body differs from the key in the path', {
      details: { field: 'key' },
    });
  }
  return key;
}
