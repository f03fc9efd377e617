/**
 * Public contract of libs/dsl. Other libs (engine, admin, decide) depend only on what is here and in
 * index.ts. Keep it stable; extend by adding, not by changing.
 */

/** A runtime value. Missing data is `null`. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** Static type of an expression, as far as the checker can tell. */
export type ExprType = 'boolean' | 'number' | 'string' | 'list' | 'duration' | 'null' | 'any';

export type WindowUnit = 'd' | 'h' | 'm';
/** `_30d` → { n: 30, unit: 'd' }. Day windows are UTC day buckets: today and the n-1 days before. */
export interface Window {
  readonly n: number;
  readonly unit: WindowUnit;
}

/** What an event aggregate computes. `property` is a path under the event, e.g. ['properties','amount']. */
export type AggregateMetric =
  | { readonly kind: 'count'; readonly window: Window }
  | { readonly kind: 'unique_days'; readonly window: Window }
  | { readonly kind: 'last_seen_minutes_ago' }
  | { readonly kind: 'first_seen_days_ago' }
  | {
      readonly kind: 'sum' | 'avg' | 'min' | 'max' | 'distinct_count';
      readonly property: readonly string[];
      readonly window: Window;
    }
  | { readonly kind: 'last'; readonly property: readonly string[] };

/** A single event as a `where(...)` filter sees it (a Segment message, normalized). */
export interface EventView {
  readonly event: string | null;
  readonly properties: { readonly [key: string]: unknown };
  readonly context: { readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** `events.purchase.where(properties.amount > 100)`: a compiled per-event predicate. Never throws. */
export interface EventFilter {
  /** Canonical printed form; equal filters have equal ids. */
  readonly id: string;
  readonly source: string;
  test(event: EventView): boolean;
}

/** One event aggregate an expression reads. */
export interface AggregateRef {
  /** Event name; null means "any event" (top-level `last_seen_minutes_ago`, `first_seen_days_ago`). */
  readonly event: string | null;
  readonly filter: EventFilter | null;
  readonly metric: AggregateMetric;
  /** Canonical id of (event, filter, metric); equal refs have equal ids. */
  readonly id: string;
}

/** Everything an expression reads. Used to plan aggregation and to order trait evaluation. */
export interface Requirements {
  readonly aggregates: readonly AggregateRef[];
  /** Paths under `profile.` (identify traits), e.g. [['plan']]. */
  readonly profile: readonly (readonly string[])[];
  /** Traits read, by bare name or `trait("k")`. */
  readonly traits: readonly string[];
  /** Segments read with `segment("k")`. */
  readonly segments: readonly string[];
  /** Paths under `context.` (request context given to decide), e.g. [['country']]. */
  readonly context: readonly (readonly string[])[];
  /** True when the value can change only because time passed (windows, *_ago metrics). */
  readonly timeDependent: boolean;
}

/** What evaluation reads. Implemented by the engine over a profile's state at a given instant. */
export interface EvalEnv {
  aggregate(ref: AggregateRef): Value;
  profile(path: readonly string[]): Value;
  trait(key: string): Value;
  segment(key: string): Value;
  context(path: readonly string[]): Value;
}

export interface CompiledExpression {
  readonly source: string;
  readonly type: ExprType;
  readonly requirements: Requirements;
  /** Total: never throws; any runtime problem yields null. */
  evaluate(env: EvalEnv): Value;
}

export type DiagnosticCode =
  | 'lex_error'
  | 'syntax_error'
  | 'unexpected_end'
  | 'unknown_name'
  | 'unknown_trait'
  | 'unknown_segment'
  | 'unknown_metric'
  | 'unknown_function'
  | 'bad_arguments'
  | 'bad_window'
  | 'type_mismatch'
  | 'not_boolean'
  | 'reserved_name'
  | 'cycle'
  | 'too_long'
  | 'too_deep';

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** 1-based line and column; 0-based offset; length ≥ 1. */
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
  /** The source line and a caret line under the problem, e.g. "a >= \n     ^". */
  readonly rendered: string;
}

/** What a definition is used as decides the required result type. */
export type ExpressionKind = 'trait' | 'segment' | 'flag';

/** Names the checker knows about. */
export interface CheckContext {
  readonly kind: ExpressionKind;
  /** Known traits and their result types. */
  readonly traits: ReadonlyMap<string, ExprType>;
  readonly segments: ReadonlySet<string>;
  /** Key of the definition being checked (to report self reference). */
  readonly selfKey?: string;
}

export type CompileResult =
  | { readonly ok: true; readonly expr: CompiledExpression; readonly warnings: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };
