/**
 * Reading the materialized definitions hash (libs/redis `definitions()`): field `<kind>:<key>` →
 * definition JSON, or a tombstone `{"deleted":true,"version":n}`. Pure.
 */
import { createHash } from 'node:crypto';
import { isPlainObject } from '@tinycdp/common';
import type { Definition, DefinitionKind } from '@tinycdp/engine';

const KINDS: ReadonlySet<string> = new Set<DefinitionKind>(['trait', 'segment', 'flag']);

export interface ParsedDefinitions {
  /** Live definitions (tombstones dropped). */
  readonly definitions: readonly Definition[];
  /** Fields that could not be read, with why (logged; never fatal). */
  readonly invalid: readonly { field: string; reason: string }[];
  /** Stable digest of every live definition's kind, key and version: changes iff a definition did. */
  readonly etag: string;
}

function shapeProblem(kind: DefinitionKind, d: Record<string, unknown>): string | null {
  switch (kind) {
    case 'trait':
      return typeof d.expression === 'string' ? null : 'trait without a string "expression"';
    case 'segment':
      return typeof d.rule === 'string' ? null : 'segment without a string "rule"';
    case 'flag':
      if (typeof d.enabled !== 'boolean') return 'flag without a boolean "enabled"';
      if (!['boolean', 'string', 'number', 'object'].includes(d.valueType as string)) return 'flag with a bad "valueType"';
      if (!Array.isArray(d.rules)) return 'flag without "rules"';
      if (!d.rules.every((r) => isPlainObject(r) && typeof r.when === 'string')) return 'flag rule without a string "when"';
      if (!('default' in d)) return 'flag without "default"';
      return null;
  }
}

/** Parses the whole hash. Never throws: unreadable fields are reported in `invalid` and skipped. */
export function parseDefinitions(raw: Readonly<Record<string, string>>): ParsedDefinitions {
  const definitions: Definition[] = [];
  const invalid: { field: string; reason: string }[] = [];
  const versions: string[] = [];
  for (const field of Object.keys(raw).sort()) {
    const colon = field.indexOf(':');
    const kind = field.slice(0, colon);
    const key = field.slice(colon + 1);
    if (colon < 1 || !KINDS.has(kind) || key === '') {
      invalid.push({ field, reason: 'field is not <kind>:<key>' });
      continue;
    }
    let d: unknown;
    try {
      d = JSON.parse(raw[field]!);
    } catch {
      invalid.push({ field, reason: 'not JSON' });
      continue;
    }
    if (!isPlainObject(d) || typeof d.version !== 'number') {
      invalid.push({ field, reason: 'not an object with a numeric "version"' });
      continue;
    }
    if (d.deleted === true) continue;
    const problem = shapeProblem(kind as DefinitionKind, d);
    if (problem !== null) {
      invalid.push({ field, reason: problem });
      continue;
    }
    // The field is authoritative for kind and key (a stale body cannot move a definition).
    definitions.push({ ...d, kind, key } as unknown as Definition);
    versions.push(`${field}@${d.version}`);
  }
  const etag = createHash('sha1').update(versions.join('\n')).digest('base64url').slice(0, 20);
  return { definitions, invalid, etag };
}
