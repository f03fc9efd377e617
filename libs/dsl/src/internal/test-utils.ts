import type { Expr } from '../ast';
import type { CheckContext, ExprType } from '../types';

/** Test helper: the AST without source positions (for structural comparison). */
export function stripSpans(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(stripSpans);
  if (e === null || typeof e !== 'object') return e;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'span' || k === 'nameSpan') continue;
    out[k] = stripSpans(v);
  }
  return out;
}

export function strip(e: Expr): unknown {
  return stripSpans(e);
}

/** Test helper: a CheckContext with the seed examples' traits and segments. */
export function seedContext(kind: CheckContext['kind'] = 'segment', selfKey?: string): CheckContext {
  return {
    kind,
    traits: new Map<string, ExprType>([
      ['frequent_buyer', 'boolean'],
      ['total_spent', 'number'],
      ['favorite_color', 'string'],
      ['tags', 'list'],
      ['anything', 'any'],
    ]),
    segments: new Set(['vip_users', 'high_value', 'power_users']),
    ...(selfKey === undefined ? {} : { selfKey }),
  };
}
