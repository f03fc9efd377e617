import type { FieldError } from './types';
import { validateDefinitionSchema, validateSegmentChangeSchema, type ErrorObject } from './internal/schemas';
import { joinPath } from './internal/describe';

function toFieldErrors(errors: readonly ErrorObject[] | null | undefined, base: string): FieldError[] {
  return (errors ?? []).map((e) => {
    const segs = e.instancePath.split('/').slice(1);
    let path = base;
    for (const s of segs) path = joinPath(path, /^\d+$/.test(s) ? Number(s) : s);
    if (e.keyword === 'required') path = joinPath(path, String(e.params['missingProperty']));
    const message = e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid');
    return { path, message };
  });
}

/** Checks a `tinycdp.segment-changes` value against schemas/segment-changes.value.schema.json. Never throws. */
export function validateSegmentChange(value: unknown, path = ''): { ok: true } | { ok: false; errors: FieldError[] } {
  return validateSegmentChangeSchema(value) ? { ok: true } : { ok: false, errors: toFieldErrors(validateSegmentChangeSchema.errors, path) };
}

/** Checks a `tinycdp.definitions` value against schemas/definitions.value.schema.json. Never throws. */
export function validateDefinitionValue(value: unknown, path = ''): { ok: true } | { ok: false; errors: FieldError[] } {
  return validateDefinitionSchema(value) ? { ok: true } : { ok: false, errors: toFieldErrors(validateDefinitionSchema.errors, path) };
}
