/** Names with a fixed meaning in the language; they can't be trait/segment keys or bare trait refs. */

/** Callable functions (besides `trait` and `segment`). */
export const FUNCTION_NAMES = ['contains', 'starts_with', 'ends_with', 'lower', 'coalesce'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Keywords the lexer turns into their own tokens. */
export const KEYWORDS = ['true', 'false', 'null', 'and', 'or', 'not', 'in'] as const;

/** Top-level metrics over any event (`AggregateRef.event = null`). */
export const TOP_LEVEL_METRICS = ['last_seen_minutes_ago', 'first_seen_days_ago'] as const;

export const RESERVED_NAMES: readonly string[] = Object.freeze([
  'events',
  'profile',
  'context',
  'trait',
  'segment',
  ...KEYWORDS,
  ...TOP_LEVEL_METRICS,
  ...FUNCTION_NAMES,
]);

const RESERVED = new Set<string>(RESERVED_NAMES);
const FUNCTIONS = new Set<string>(FUNCTION_NAMES);
const KEYWORD_SET = new Set<string>(KEYWORDS);

/** True when `name` has a fixed meaning and so can't be used as a trait or segment key. */
export function isReservedName(name: string): boolean {
  return RESERVED.has(name);
}

export function isFunctionName(name: string): name is FunctionName {
  return FUNCTIONS.has(name);
}

export function isKeyword(name: string): boolean {
  return KEYWORD_SET.has(name);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Can `name` be written after a dot (`profile.name`)? Keywords are allowed there. */
export function isIdentifierLike(name: string): boolean {
  return IDENT.test(name);
}
