/**
 * Flag decisions: ordered rules, first match wins, optional percentage rollout by a stable hash.
 */
import { isPlainObject, type Json } from '@tinycdp/common';
import type { FlagValueType } from './definitions';
import { murmur3_32 } from './internal/hash';
import type { CompiledFlag } from './plan';
import type { ProfileView } from './view';

export type DecisionReason = 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT' | 'DISABLED' | 'ERROR';

export interface Decision {
  readonly flag: string;
  readonly value: Json;
  /** Boolean flags: the value; other types: value differs from the flag's default. */
  readonly enabled: boolean;
  readonly reason: DecisionReason;
  /** Index of the rule that decided (also for ERROR on a rule's value), else null. */
  readonly ruleIndex: number | null;
  readonly version: number;
}

/** Rollout buckets: a user is in a p% rollout iff stableBucket < p·100. */
export const ROLLOUT_BUCKETS = 10_000;

/**
 * Deterministic bucket 0..9999 of a user for a flag: murmur3 (x86, 32 bit) of `${flagKey}:${userKey}`
 * modulo 10 000. Must not change: changing it reshuffles every running rollout.
 */
export function stableBucket(flagKey: string, userKey: string): number {
  return murmur3_32(`${flagKey}:${userKey}`) % ROLLOUT_BUCKETS;
}

/** True when `value` has the flag's declared type ('object' = JSON object or array). */
export function matchesValueType(value: Json, type: FlagValueType): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'object':
      return isPlainObject(value) || Array.isArray(value);
    default:
      return false;
  }
}

function jsonEqual(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function decision(flag: CompiledFlag, value: Json, reason: DecisionReason, ruleIndex: number | null): Decision {
  const enabled = flag.valueType === 'boolean' ? value === true : !jsonEqual(value, flag.default);
  return { flag: flag.key, value, enabled, reason, ruleIndex, version: flag.version };
}

/**
 * Decides a flag for a user. Rules are tried in order; the first whose `when` is `true` wins. A rule
 * with `rollout` p applies to the user iff `stableBucket(flag.key, userKey) < p·100`; otherwise the
 * next rule is tried. Reasons: TARGETING_MATCH (rule without rollout), SPLIT (rule with rollout),
 * DEFAULT (no rule matched), DISABLED (flag disabled: the default), ERROR (the chosen value does not
 * have the flag's valueType: the default is returned). Never throws.
 */
export function evaluateFlag(flag: CompiledFlag, view: ProfileView, userKey: string): Decision {
  if (!flag.enabled) return decision(flag, flag.default, 'DISABLED', null);
  for (let i = 0; i < flag.rules.length; i++) {
    const rule = flag.rules[i]!;
    let hit: unknown;
    try {
      hit = rule.when.evaluate(view.env);
    } catch {
      hit = null;
    }
    if (hit !== true) continue;
    if (rule.rollout !== null && stableBucket(flag.key, userKey) >= Math.round(rule.rollout * 100)) continue;
    if (!matchesValueType(rule.value, flag.valueType)) return decision(flag, flag.default, 'ERROR', i);
    return decision(flag, rule.value, rule.rollout !== null ? 'SPLIT' : 'TARGETING_MATCH', i);
  }
  if (!matchesValueType(flag.default, flag.valueType)) return decision(flag, flag.default, 'ERROR', null);
  return decision(flag, flag.default, 'DEFAULT', null);
}

/** Every flag of the plan for one user (decide without `flag`). */
export function evaluateFlags(flags: readonly CompiledFlag[], view: ProfileView, userKey: string): Decision[] {
  return flags.map((f) => evaluateFlag(f, view, userKey));
}
