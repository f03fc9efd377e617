/**
 * Lazy, memoized evaluation of a profile at an instant: the `EvalEnv` behind traits, segments and
 * flags.
 */
import type { Json, JsonObject } from '@tinycdp/common';
import type { AggregateRef, CompiledExpression, EvalEnv, Value } from '@tinycdp/dsl';
import { readAggregate, windowPosition } from './internal/aggregates';
import { getPath, pathKey, toJson } from './internal/json';
import type { Plan } from './plan';
import type { ProfileState } from './state';

/** A profile evaluated lazily at `now`; every value is computed at most once. */
export interface ProfileView {
  readonly profileId: string;
  readonly userId: string | null;
  readonly now: number;
  /** The environment expressions (flag rules) are evaluated against. */
  readonly env: EvalEnv;
  /** Trait value at `now`; null for unknown traits. */
  trait(key: string): Value;
  /** Membership at `now` (true/false); null for segments not in the plan. */
  segment(key: string): Value;
  /** Every trait of the plan. */
  traits(): Record<string, Json>;
  /** Every segment of the plan → member or not. */
  segments(): Record<string, boolean>;
}

/**
 * Aggregate values of ONE profile state kept across views of it (decide reuses a decoded state for
 * every request until the profile changes): by ref id, with the window position they were read at.
 * Only for a state that is never changed afterwards.
 */
export type AggregateMemo = Map<string, { readonly at: number; readonly value: Value }>;

const pathKeys = new WeakMap<readonly string[], string>();

/** `pathKey(path)`, cached per path array (compiled expressions pass the same array every time). */
function cachedPathKey(path: readonly string[]): string {
  let k = pathKeys.get(path);
  if (k === undefined) {
    k = pathKey(path);
    pathKeys.set(path, k);
  }
  return k;
}

function readProfile(state: ProfileState, path: readonly string[]): Value {
  const exact = state.properties[cachedPathKey(path)];
  if (exact !== undefined) return exact.value;
  // A shorter stored path may hold an object the longer path reaches into.
  for (let i = path.length - 1; i >= 1; i--) {
    const p = state.properties[pathKey(path.slice(0, i))];
    if (p !== undefined) {
      const v = getPath(p.value, path.slice(i));
      return v === undefined ? null : toJson(v);
    }
  }
  return null;
}

/** Memo marker of a trait or segment being evaluated (a reference cycle reads it as null). */
const IN_PROGRESS: unique symbol = Symbol('in progress');
type Memo = Map<string, Value | typeof IN_PROGRESS>;

/** The view is its own `EvalEnv` (methods, not per-view closures). */
class LazyView implements ProfileView, EvalEnv {
  readonly env: EvalEnv = this;
  // Created on first use: decide builds one view per request and most flags read a few values.
  private traitMemoMap: Memo | null = null;
  private segmentMemoMap: Memo | null = null;
  private aggMemoMap: Map<string, Value> | null = null;

  private get traitMemo(): Memo {
    return (this.traitMemoMap ??= new Map());
  }

  private get segmentMemo(): Memo {
    return (this.segmentMemoMap ??= new Map());
  }

  private get aggMemo(): Map<string, Value> {
    return (this.aggMemoMap ??= new Map());
  }

  constructor(
    private readonly state: ProfileState,
    private readonly plan: Plan,
    readonly now: number,
    private readonly ctx: JsonObject,
    private readonly shared: AggregateMemo | undefined,
  ) {}

  get profileId(): string {
    return this.state.id;
  }

  get userId(): string | null {
    return this.state.userId;
  }

  aggregate(ref: AggregateRef): Value {
    const memo = this.aggMemo.get(ref.id);
    if (memo !== undefined) return memo;
    const v = this.shared === undefined ? readAggregate(this.state, ref, this.now) : this.readShared(ref);
    this.aggMemo.set(ref.id, v);
    return v;
  }

  private readShared(ref: AggregateRef): Value {
    const at = windowPosition(ref, this.now);
    if (at === null) return readAggregate(this.state, ref, this.now);
    const known = this.shared!.get(ref.id);
    if (known !== undefined && known.at === at) return known.value;
    const value = readAggregate(this.state, ref, this.now);
    this.shared!.set(ref.id, { at, value });
    return value;
  }

  profile(path: readonly string[]): Value {
    return readProfile(this.state, path);
  }

  context(path: readonly string[]): Value {
    const v = getPath(this.ctx, path);
    return v === undefined ? null : toJson(v);
  }

  // trait/segment: evaluated at most once (memoized); a reference cycle (excluded by the plan,
  // guarded anyway) reads the value being computed as null. A throwing expression reads as null
  // (trait) or false (segment).
  trait(key: string): Value {
    const t = this.plan.traitsByKey.get(key);
    if (t === undefined) return null;
    const m = this.traitMemo.get(key);
    if (m !== undefined) return m === IN_PROGRESS ? null : m;
    this.traitMemo.set(key, IN_PROGRESS);
    let v: Value;
    try {
      const r = t.expr.evaluate(this);
      v = r === undefined ? null : r;
    } catch {
      v = null;
    }
    this.traitMemo.set(key, v);
    return v;
  }

  segment(key: string): Value {
    const s = this.plan.segmentsByKey.get(key);
    if (s === undefined) return null;
    const m = this.segmentMemo.get(key);
    if (m !== undefined) return m === IN_PROGRESS ? null : m;
    this.segmentMemo.set(key, IN_PROGRESS);
    let v: boolean;
    try {
      v = s.expr.evaluate(this) === true;
    } catch {
      v = false;
    }
    this.segmentMemo.set(key, v);
    return v;
  }

  traits(): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const t of this.plan.traits) out[t.key] = this.trait(t.key) as Json;
    return out;
  }

  segments(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const s of this.plan.segments) out[s.key] = this.segment(s.key) === true;
    return out;
  }
}

/**
 * A lazy view of `state` at `now` under `plan`: traits and segments are evaluated on first use and
 * memoized (decide evaluates only what its flags read). `context` is what `context.*` reads (e.g. the
 * decide request's context). `memo`: aggregate values of this same state from earlier views (see
 * AggregateMemo); read and extended. Never throws.
 */
export function profileView(state: ProfileState, plan: Plan, now: number, context: JsonObject = {}, memo?: AggregateMemo): ProfileView {
  return new LazyView(state, plan, now, context, memo);
}

/** What `evaluateExpression` returns: the value and every input it read, by name. */
export interface ExpressionResult {
  readonly value: Json;
  /** Keys: the aggregate ref id (e.g. `events.purchase.count_30d`), `profile.<path>`,
   *  `trait("<key>")`, `segment("<key>")`, `context.<path>`. */
  readonly inputs: Record<string, Json>;
}

/**
 * Evaluates one compiled expression against a profile at `now` (admin's /expressions/test), recording
 * the inputs it read. Never throws.
 */
export function evaluateExpression(
  expr: CompiledExpression,
  state: ProfileState,
  plan: Plan,
  now: number,
  context: JsonObject = {},
): ExpressionResult {
  const view = profileView(state, plan, now, context);
  const inputs: Record<string, Json> = {};
  const record = (k: string, v: Value): Value => {
    inputs[k] = v as Json;
    return v;
  };
  const env: EvalEnv = {
    aggregate: (ref) => record(ref.id, view.env.aggregate(ref)),
    profile: (path) => record(`profile.${path.join('.')}`, view.env.profile(path)),
    trait: (key) => record(`trait(${JSON.stringify(key)})`, view.trait(key)),
    segment: (key) => record(`segment(${JSON.stringify(key)})`, view.segment(key)),
    context: (path) => record(`context.${path.join('.')}`, view.env.context(path)),
  };
  let value: Value;
  try {
    value = expr.evaluate(env);
  } catch {
    value = null;
  }
  return { value: (value === undefined ? null : value) as Json, inputs };
}
