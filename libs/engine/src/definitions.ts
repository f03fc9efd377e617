import type { Json } from '@tinycdp/common';

/**
 * Definitions as they travel on `tinycdp.definitions` (key `trait:<key>` etc.) and live in memory in
 * every processor and decide instance. Admin owns them in Postgres. `version` increases on every change.
 */
export interface TraitDefinition {
  readonly kind: 'trait';
  readonly key: string;
  readonly expression: string;
  readonly version: number;
  readonly description?: string;
}

export interface SegmentDefinition {
  readonly kind: 'segment';
  readonly key: string;
  readonly rule: string;
  readonly version: number;
  readonly description?: string;
}

export type FlagValueType = 'boolean' | 'string' | 'number' | 'object';

export interface FlagRule {
  /** Expression; must be boolean. */
  readonly when: string;
  readonly value: Json;
  /** 0..100: share of matching users (by stable hash of flag key and user) that get `value`. */
  readonly rollout?: number;
}

export interface FlagDefinition {
  readonly kind: 'flag';
  readonly key: string;
  readonly enabled: boolean;
  readonly valueType: FlagValueType;
  /** Ordered: first matching rule wins. The seed form `{key, rule}` is `[{when: rule, value: true}]`. */
  readonly rules: readonly FlagRule[];
  readonly default: Json;
  readonly version: number;
  readonly description?: string;
}

export type Definition = TraitDefinition | SegmentDefinition | FlagDefinition;
export type DefinitionKind = Definition['kind'];

/** A tombstone on the compacted topic (null value) becomes a deletion. */
export interface DefinitionDeletion {
  readonly kind: DefinitionKind;
  readonly key: string;
  readonly deleted: true;
  readonly version: number;
}

/** Topic key for a definition: `trait:<key>`, `segment:<key>`, `flag:<key>`. */
export function definitionTopicKey(kind: DefinitionKind, key: string): string {
  return `${kind}:${key}`;
}
