import type { Value } from '../types';

/**
 * Runtime helpers for compiled expressions. All of them are total: any input (including values an
 * EvalEnv should not return, like `undefined` or NaN) gives a result, never an exception.
 */

const hasOwn = Object.prototype.hasOwnProperty;

/** Anything → Value: undefined/functions/symbols/bigints/non-finite numbers become null. */
export function toValue(x: unknown): Value {
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return x;
    case 'number':
      return Number.isFinite(x) ? x : null;
    case 'object':
      return x as Value;
    default:
      return null;
  }
}

export function isNullish(v: unknown): boolean {
  return v === null || v === undefined;
}

const MAX_EQUAL_DEPTH = 32;

/** Equality of two non-null values: same type and same content; across types always false. */
export function valueEquals(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return a !== null && a !== undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_EQUAL_DEPTH) return false;
  const aArr = Array.isArray(a);
  if (aArr !== Array.isArray(b)) return false;
  if (aArr) {
    const bb = b as unknown[];
    const aa = a as unknown[];
    if (aa.length !== bb.length) return false;
    for (let i = 0; i < aa.length; i++) if (!valueEquals(aa[i], bb[i], depth + 1)) return false;
    return true;
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!hasOwn.call(b, k)) return false;
    if (!valueEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/** `a in list`: false when `a` is null or `list` is not a list. */
export function inList(a: unknown, list: unknown): boolean {
  if (a === null || a === undefined || !Array.isArray(list)) return false;
  for (const x of list) if (valueEquals(a, x)) return true;
  return false;
}

/** Ordering compares two numbers or two strings (UTF-16 code unit order); anything else is false. */
export function compare(op: '<' | '<=' | '>' | '>=', a: unknown, b: unknown): boolean {
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** A number result, or null when it is not finite (overflow, 0/0, x/0). */
export function finite(n: number): Value {
  return Number.isFinite(n) ? n : null;
}

/** Reads a field of ONE event: `['event']`, `['properties', ...]` or `['context', ...]`. */
export function readEventField(ev: unknown, path: readonly string[]): Value {
  if (ev === null || typeof ev !== 'object') return null;
  let cur: unknown = ev;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !hasOwn.call(cur, seg)) return null;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return toValue(cur);
}
