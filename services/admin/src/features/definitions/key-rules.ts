import { AppError } from '@tinycdp/common';
import { isReservedName } from '@tinycdp/dsl';

export const DEFINITION_KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** Why `key` cannot name a definition, or null when it can. */
export function definitionKeyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'key must be a string';
  if (!DEFINITION_KEY_RE.test(key)) {
    return 'key must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 64 characters)';
  }
  if (isReservedName(key)) return `"${key}" is a reserved name of the expression language`;
  return null;
}

/** Throws AppError('validation_failed') naming the field when `key` is not a valid definition key. */
export function assertDefinitionKey(key: unknown, field = 'key'): string {
  const problem = definitionKeyProblem(key);
  if (problem !== null) throw new AppError('validation_failed', problem, { details: { field } });
  return key as string;
}
