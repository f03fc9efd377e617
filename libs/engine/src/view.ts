/**
 * Lazy, memoized evaluation of a profile at an instant: the `EvalEnv` behind traits, segments and
 * flags.
 */
import type { Json, JsonObject } from '@tinycdp/common';
import type { AggregateRef, CompiledExpression, EvalEnv, Value } from '@tinycdp/dsl';
import { readAggregate } from './internal/aggregates';
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

function readProfile(state: ProfileState, path: readonly string[]): Value {
  const exact = state.properties[pathKey(path)];
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

class LazyView implements ProfileView {
  readonly env: EvalEnv;
  private readonly traitMemo = new Map<string, Value>();
  private readonly segmentMemo = new Map<string, Value>();
  private readonly aggMemo = new Map<string, Value>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly state: ProfileState,
    private readonly plan: Plan,
    readonly now: number,
    private readonly context: JsonObject,
  ) {
    this.env = {
      aggregate: (ref) => this.aggregate(ref),
      profile: (path) => readProfile(this.state, path),
      trait: (key) => this.trait(key),
      segment: (key) => this.segment(key),
      context: (path) => {
        const v = getPath(this.context, path);
        return v === undefined ? null : toJson(v);
      },
    };
  }

  get profileId(): string {
    return this.state.id;
  }

  get userId(): string | null {
    return this.state.userId;
  }

  aggregate(ref: AggregateRef): Value {
    if (this.aggMemo.has(ref.id)) return this.aggMemo.get(ref.id)!;
    const v = readAggregate(this.state, ref, this.now);
    this.aggMemo.set(ref.id, v);
    return v;
  }

  private guarded(id: string, memo: Map<string, Value>, expr: CompiledExpression, map: (v: Value) => Value): Value {
    if (memo.has(id)) return memo.get(id)!;
    if (this.inProgress.has(id)) return null; // cycles are excluded by the plan; guard anyway
    this.inProgress.add(id);
    let v: Value;
    try {
      v = map(expr.evaluate(this.env));
    } catch {
      v = map(null);
    } finally {
      this.inProgress.delete(id);
    }
    memo.set(id, v);
    return v;
  }

  trait(key: string): Value {
    const t = this.plan.traitsByKey.get(key);
    if (t === undefined) return null;
    return this.guarded(`t:${key}`, this.traitMemo, t.expr, (v) => (v === undefined ? null : v));
  }

  segment(key: string): Value {
    const s = this.plan.segmentsByKey.get(key);
    if (s === undefined) return null;
    return this.guarded(`s:${key}`, this.segmentMemo, s.expr, (v) => v === true);
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
 * decide request's context). Never throws.
 */
export function profileView(state: ProfileState, plan: Plan, now: number, context: JsonObject = {}): ProfileView {
  return new LazyView(state, plan, now, context);
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
