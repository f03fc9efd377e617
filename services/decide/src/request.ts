/**
 * Parsing of decide requests into one internal shape. Pure (no I/O); every problem is an AppError
 * 'validation_failed' whose message and `details.field` name the offending field.
 */
import { AppError, isPlainObject, type Json, type JsonObject } from '@tinycdp/common';

/** Whose flags to decide: a user, or an anonymous visitor resolved through its link to a user. */
export type Target =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'anonymous'; readonly anonymousId: string };

export interface DecideQuery {
  readonly targets: readonly Target[];
  /** Flags asked for; null = every flag. */
  readonly flags: readonly string[] | null;
  /** What `context.*` reads in flag rules. */
  readonly context: JsonObject;
}

/**
 * The name/value pairs of a query string, as URLSearchParams gives them. Plain queries (no `%` or `+`,
 * the usual `userId=…&flag=…`) are split directly — URLSearchParams' object and iterator were a
 * measurable share of decide's per-request work; anything encoded goes through URLSearchParams.
 */
export function queryPairs(query: string): Iterable<[string, string]> {
  if (query.includes('%') || query.includes('+')) return new URLSearchParams(query);
  const out: [string, string][] = [];
  let start = query.charCodeAt(0) === 63 /* ? */ ? 1 : 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      out.push(eq === -1 || eq > end ? [query.slice(start, end), ''] : [query.slice(start, eq), query.slice(eq + 1, end)]);
    }
    start = end + 1;
  }
  return out;
}

/** Bounds that keep one request cheap: ids and flag keys are short, batches small. */
export const LIMITS = Object.freeze({
  idLength: 256,
  flagKeyLength: 128,
  maxTargets: 100,
  maxFlags: 200,
  contextDepth: 8,
  contextKeys: 64,
  /** POST bodies. */
  bodyBytes: 64 * 1024,
});

function invalid(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, { details: { field } });
}

function idOf(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, 'must be a non-empty string');
  if (v.length > LIMITS.idLength) throw invalid(field, `must be at most ${LIMITS.idLength} characters`);
  return v;
}

function flagKeyOf(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, 'must be a non-empty string');
  if (v.length > LIMITS.flagKeyLength) throw invalid(field, `must be at most ${LIMITS.flagKeyLength} characters`);
  return v;
}

/** Checks a request context: a JSON object, bounded in depth and size. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function contextOf(field: string, v: unknown): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw invalid(field, 'must be a JSON object');
  let keys = 0;
  const check = (x: unknown, path: string, depth: number): void => {
    if (depth > LIMITS.contextDepth) throw invalid(path, `nesting deeper than ${LIMITS.contextDepth}`);
    if (typeof x === 'number' && !Number.isFinite(x)) throw invalid(path, 'must be a finite number');
    if (typeof x !== 'object' || x === null) return;
    for (const [k, y] of Object.entries(x)) {
      if (++keys > LIMITS.contextKeys) throw invalid(field, `at most ${LIMITS.contextKeys} keys`);
      // Prototype-pollution keys are refused outright (they never name a real attribute).
      if (!Array.isArray(x) && FORBIDDEN_KEYS.has(k)) throw invalid(`${path}.${k}`, 'this key name is not allowed');
      check(y, Array.isArray(x) ? `${path}[${k}]` : `${path}.${k}`, depth + 1);
    }
  };
  check(v, field, 0);
  return v as JsonObject;
}

/** Sets `path` (a.b.c) in `obj`, creating objects on the way; a later scalar never overwrites an object. */
function setPath(obj: JsonObject, path: readonly string[], value: Json): void {
  let cur: JsonObject = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (isPlainObject(next)) cur = next as JsonObject;
    else {
      const created: JsonObject = {};
      cur[k] = created;
      cur = created;
    }
  }
  const last = path[path.length - 1]!;
  if (!isPlainObject(cur[last])) cur[last] = value;
}

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses the query string of `GET /v1/decide`: `userId` or `anonymousId` (one of them), optional `flag`
 * (repeatable, or comma-separated) and `context.<path>=<value>` pairs. Context values from a query
 * string stay strings (`"18"` is not 18); send typed values with POST.
 *
 * @throws AppError 'validation_failed' naming the field.
 */
export function parseDecideQuery(params: Iterable<[string, string]>): DecideQuery {
  let userId: string | undefined;
  let anonymousId: string | undefined;
  let flags: string[] | null = null;
  const context: JsonObject = {};
  let contextKeys = 0;
  for (const [name, value] of params) {
    if (name === 'userId') userId = idOf('userId', value);
    else if (name === 'anonymousId') anonymousId = idOf('anonymousId', value);
    else if (name === 'flag' || name === 'flags') {
      flags ??= [];
      for (const k of value.split(',')) flags.push(flagKeyOf(name, k.trim()));
      if (flags.length > LIMITS.maxFlags) throw invalid(name, `at most ${LIMITS.maxFlags} flags`);
    } else if (name.startsWith('context.')) {
      const path = name.slice('context.'.length).split('.');
      if (path.some((p) => p === '' || FORBIDDEN_SEGMENTS.has(p))) throw invalid(name, 'is not a valid context path');
      if (path.length > LIMITS.contextDepth) throw invalid(name, `nesting deeper than ${LIMITS.contextDepth}`);
      if (++contextKeys > LIMITS.contextKeys) throw invalid('context', `at most ${LIMITS.contextKeys} keys`);
      setPath(context, path, value);
    }
    // Other parameters are ignored (cache busters and the like).
  }
  if (userId === undefined && anonymousId === undefined) throw invalid('userId', 'is required (or anonymousId)');
  const target: Target =
    userId !== undefined ? { kind: 'user', userId } : { kind: 'anonymous', anonymousId: anonymousId! };
  return { targets: [target], flags: flags === null ? null : dedupe(flags), context };
}

/**
 * Parses the JSON body of `POST /v1/decide`:
 * `{ userIds?: string[], userId?: string, anonymousId?: string, flags?: string[], context?: {} }`.
 * Targets are `userId` (or else `anonymousId`) followed by `userIds`, in order.
 *
 * @throws AppError 'validation_failed' naming the field.
 */
export function parseDecideBody(body: unknown): DecideQuery {
  if (!isPlainObject(body)) throw invalid('body', 'must be a JSON object');
  const targets: Target[] = [];
  if (body.userId !== undefined) targets.push({ kind: 'user', userId: idOf('userId', body.userId) });
  else if (body.anonymousId !== undefined) {
    targets.push({ kind: 'anonymous', anonymousId: idOf('anonymousId', body.anonymousId) });
  }
  if (body.userIds !== undefined) {
    if (!Array.isArray(body.userIds)) throw invalid('userIds', 'must be an array of strings');
    body.userIds.forEach((u, i) => targets.push({ kind: 'user', userId: idOf(`userIds[${i}]`, u) }));
  }
  if (targets.length === 0) throw invalid('userId', 'is required (or anonymousId, or userIds)');
  if (targets.length > LIMITS.maxTargets) throw invalid('userIds', `at most ${LIMITS.maxTargets} users per request`);
  let flags: string[] | null = null;
  if (body.flags !== undefined && body.flags !== null) {
    if (!Array.isArray(body.flags)) throw invalid('flags', 'must be an array of flag keys');
    if (body.flags.length > LIMITS.maxFlags) throw invalid('flags', `at most ${LIMITS.maxFlags} flags`);
    flags = dedupe(body.flags.map((f, i) => flagKeyOf(`flags[${i}]`, f)));
  }
  return { targets, flags, context: contextOf('context', body.context) };
}

function dedupe(keys: readonly string[]): string[] {
  return [...new Set(keys)];
}

/** Where an OFREP request's evaluation context says to look, and the rest of it as `context.*`. */
export interface OfrepContext {
  readonly target: Target | null;
  readonly context: JsonObject;
}

/**
 * Splits an OFREP evaluation context: `targetingKey` → userId; the other attributes → `context.*`.
 * When there is no targetingKey, an `anonymousId` attribute is used instead. `target` is null when
 * neither is present (the caller answers TARGETING_KEY_MISSING).
 *
 * @throws AppError 'validation_failed' when the context is not an object or a key is malformed
 *   (the caller answers INVALID_CONTEXT).
 */
export function parseOfrepContext(raw: unknown): OfrepContext {
  const ctx = contextOf('context', raw);
  const { targetingKey, ...rest } = ctx;
  if (targetingKey !== undefined && targetingKey !== null && targetingKey !== '') {
    return { target: { kind: 'user', userId: idOf('context.targetingKey', targetingKey) }, context: rest };
  }
  const anon = rest['anonymousId'];
  if (anon !== undefined && anon !== null && anon !== '') {
    return { target: { kind: 'anonymous', anonymousId: idOf('context.anonymousId', anon) }, context: rest };
  }
  return { target: null, context: rest };
}
