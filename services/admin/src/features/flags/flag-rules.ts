import { AppError, assertNever, isPlainObject, type Json } from '@tinycdp/common';
import type { FlagDefinition, FlagRule, FlagValueType } from '@tinycdp/engine';
import { z } from 'zod';
import { descriptionSchema, parseBody, replaceKey, versionSchema } from '../definitions/body-rules';
import { assertDefinitionKey } from '../definitions/key-rules';

export type FlagDraft = Omit<FlagDefinition, 'version'>;

const when = z.string().trim().min(1, 'rule is required').max(4000);
const valueType = z.enum(['boolean', 'string', 'number', 'object']);

/** Seed form: `{key, rule}` — one rule `{when: rule, value: true}`, default false. */
const shortFields = {
  rule: when,
  enabled: z.boolean().optional(),
  description: descriptionSchema,
};
/** Full form: ordered rules, first match wins. */
const fullFields = {
  enabled: z.boolean().optional(),
  valueType: valueType.optional(),
  rules: z
    .array(
      z.strictObject({
        when,
        value: z.json(),
        rollout: z.number().min(0).max(100).optional(),
      }),
    )
    .max(100),
  default: z.json().optional(),
  description: descriptionSchema,
};

const createShort = z.strictObject({ key: z.string(), ...shortFields });
const createFull = z.strictObject({ key: z.string(), ...fullFields });
const replaceShort = z.strictObject({ key: z.string().optional(), version: versionSchema, ...shortFields });
const replaceFull = z.strictObject({ key: z.string().optional(), version: versionSchema, ...fullFields });

function valueMatches(type: FlagValueType, v: Json): boolean {
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'object':
      return isPlainObject(v);
    default:
      return assertNever(type, 'flag value type');
  }
}

const DEFAULT_BY_TYPE: Record<FlagValueType, Json | undefined> = {
  boolean: false,
  string: undefined,
  number: undefined,
  object: undefined,
};

interface FullBody {
  enabled?: boolean | undefined;
  valueType?: FlagValueType | undefined;
  rules: { when: string; value: Json; rollout?: number | undefined }[];
  default?: Json | undefined;
  description?: string | undefined;
}

/**
 * Normalizes the full form: `enabled` defaults to true, `valueType` to boolean, `default` to false for
 * boolean flags (required for the other types); every rule value and the default must match the type.
 * Throws AppError('validation_failed') naming the field.
 */
export function normalizeFullFlag(key: string, b: FullBody): FlagDraft {
  const type: FlagValueType = b.valueType ?? 'boolean';
  const def = b.default !== undefined ? b.default : DEFAULT_BY_TYPE[type];
  if (def === undefined) {
    throw new AppError('validation_failed', `default is required for a ${type} flag`, { details: { field: 'default' } });
  }
  if (!valueMatches(type, def)) {
    throw new AppError('validation_failed', `default must be a ${type}`, { details: { field: 'default' } });
  }
  const rules: FlagRule[] = b.rules.map((r, i) => {
    if (!valueMatches(type, r.value)) {
      throw new AppError('validation_failed', `rules[${i}].value must be a ${type}`, {
        details: { field: `rules[${i}].value` },
      });
    }
    return r.rollout === undefined ? { when: r.when, value: r.value } : { when: r.when, value: r.value, rollout: r.rollout };
  });
  const draft: FlagDraft = { kind: 'flag', key, enabled: b.enabled ?? true, valueType: type, rules, default: def };
  return b.description === undefined ? draft : { ...draft, description: b.description };
}

/** The seed form `{key, rule}` as a full flag. */
export function normalizeShortFlag(
  key: string,
  b: { rule: string; enabled?: boolean | undefined; description?: string | undefined },
): FlagDraft {
  return normalizeFullFlag(key, {
    enabled: b.enabled,
    valueType: 'boolean',
    rules: [{ when: b.rule, value: true }],
    default: false,
    description: b.description,
  });
}

function isShort(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  if ('rule' in body && 'rules' in body) {
    throw new AppError('validation_failed', 'give either rule or rules, not both', { details: { field: 'rule' } });
  }
  return 'rule' in body;
}

/** `POST /v1/admin/flags`: `{key, rule}` or `{key, enabled, valueType, rules, default}`. */
export function parseFlagCreate(body: unknown): FlagDraft {
  if (isShort(body)) {
    const b = parseBody(createShort, body);
    return normalizeShortFlag(assertDefinitionKey(b.key), b);
  }
  const b = parseBody(createFull, body);
  return normalizeFullFlag(assertDefinitionKey(b.key), b);
}

/** `PUT /v1/admin/flags/:key`: either form, `key` optional, `version` optional. */
export function parseFlagReplace(pathKey: string, body: unknown): FlagDraft {
  if (isShort(body)) {
    const b = parseBody(replaceShort, body);
    return normalizeShortFlag(replaceKey(pathKey, b.key), b);
  }
  const b = parseBody(replaceFull, body);
  return normalizeFullFlag(replaceKey(pathKey, b.key), b);
}
