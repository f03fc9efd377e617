import type { Span } from './diagnostics';
import type { WindowUnit } from './types';

export type { Span } from './diagnostics';

/**
 * The AST: a discriminated union on `kind`. Every node has a source `span`. Nodes are plain data
 * (JSON-serializable) so they can be compared, printed and cached.
 */
export type Expr =
  | NumberLit
  | StringLit
  | BooleanLit
  | NullLit
  | DurationLit
  | ListLit
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | NameRef
  | TraitRef
  | SegmentRef
  | ProfileRef
  | ContextRef
  | EventFieldRef
  | AggregateExpr;

export interface NumberLit {
  readonly kind: 'number';
  readonly value: number;
  readonly span: Span;
}
export interface StringLit {
  readonly kind: 'string';
  readonly value: string;
  readonly span: Span;
}
export interface BooleanLit {
  readonly kind: 'boolean';
  readonly value: boolean;
  readonly span: Span;
}
export interface NullLit {
  readonly kind: 'null';
  readonly span: Span;
}
/** `30d`; only meaningful as an aggregate window argument. */
export interface DurationLit {
  readonly kind: 'duration';
  readonly n: number;
  readonly unit: WindowUnit;
  readonly span: Span;
}
export interface ListLit {
  readonly kind: 'list';
  readonly items: readonly Expr[];
  readonly span: Span;
}

/** `!x` / `not x` are the same operator `'!'`; `'-'` is arithmetic negation. */
export type UnaryOp = '!' | '-';
export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: UnaryOp;
  readonly operand: Expr;
  readonly span: Span;
}

/** Keyword spellings are normalized: `or` → `||`, `and` → `&&`. */
export type BinaryOp =
  | '||'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'not in'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%';
export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** A function call `name(args)`: the built-in functions, or `trait`/`segment` with bad arguments. */
export interface CallExpr {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly Expr[];
  readonly nameSpan: Span;
  readonly span: Span;
}

/** A bare identifier: a trait reference (`frequent_buyer`), same as `trait("frequent_buyer")`. */
export interface NameRef {
  readonly kind: 'name';
  readonly name: string;
  readonly span: Span;
}
/** `trait("key")`. */
export interface TraitRef {
  readonly kind: 'trait';
  readonly key: string;
  readonly span: Span;
}
/** `segment("key")`. */
export interface SegmentRef {
  readonly kind: 'segment';
  readonly key: string;
  readonly span: Span;
}
/** `profile.a.b` / `profile["odd key"]`. */
export interface ProfileRef {
  readonly kind: 'profile';
  readonly path: readonly string[];
  readonly span: Span;
}
/** `context.country`: the request context given at decide time. */
export interface ContextRef {
  readonly kind: 'context';
  readonly path: readonly string[];
  readonly span: Span;
}
/**
 * A field of the ONE event a `where(...)` filter (or an aggregate's property argument) looks at:
 * `['properties', ...]`, `['context', ...]` or `['event']` (the event name).
 */
export interface EventFieldRef {
  readonly kind: 'event_field';
  readonly path: readonly string[];
  readonly span: Span;
}

/** The metric part of an aggregate: `count_30d` (args null) or `sum(properties.amount, 30d)`. */
export interface MetricNode {
  readonly name: string;
  readonly args: readonly Expr[] | null;
  readonly span: Span;
}
/**
 * `events.<event>[.where(<filter>)].<metric>`, or top-level `last_seen_minutes_ago` /
 * `first_seen_days_ago` (event null, filter null).
 */
export interface AggregateExpr {
  readonly kind: 'aggregate';
  readonly event: string | null;
  readonly filter: Expr | null;
  readonly metric: MetricNode;
  readonly span: Span;
}

/** Calls `fn` on each direct child expression. */
export function forEachChild(node: Expr, fn: (child: Expr) => void): void {
  switch (node.kind) {
    case 'list':
      node.items.forEach(fn);
      return;
    case 'unary':
      fn(node.operand);
      return;
    case 'binary':
      fn(node.left);
      fn(node.right);
      return;
    case 'call':
      node.args.forEach(fn);
      return;
    case 'aggregate':
      if (node.filter) fn(node.filter);
      node.metric.args?.forEach(fn);
      return;
    default:
      return;
  }
}
