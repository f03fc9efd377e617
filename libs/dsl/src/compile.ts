import type { BinaryExpr, Expr } from './ast';
import { check } from './check';
import { aggregateId, isTimeDependent, resolveMetric } from './internal/metrics';
import { compare, finite, inList, isNullish, readEventField, toValue, valueEquals } from './internal/values';
import { parse } from './parse';
import { print } from './print';
import type { Scope } from './visitor';
import type {
  AggregateRef,
  CheckContext,
  CompiledExpression,
  CompileResult,
  EvalEnv,
  EventFilter,
  EventView,
  ExprType,
  Requirements,
  Value,
} from './types';

/**
 * Compiled closure. `c` is the EvalEnv in profile scope and the EventView inside `where(...)`.
 * Closures may return `undefined` (an env returning it); `evaluate` turns that into null.
 */
type Fn = (c: any) => Value | undefined;

/*
 * Evaluation semantics (total: nothing throws, problems yield null):
 * - missing data is null; arithmetic with null, or a non-finite result (x / 0), gives null;
 * - `&&`, `||`, and boolean contexts treat anything but `true` as false (so null is false);
 * - `!x` is true/false for booleans and null otherwise (a null that then counts as false);
 * - any comparison with a null operand is false (`<`, `>=`, `==`, `!=`, `in`, `not in`) ...
 * - ... EXCEPT against the literal `null`: `x == null` is true when x is null/missing and
 *   `x != null` is true when x is present. That is the one way to test for missing data.
 * - `==` compares same-typed values (lists/objects deeply); across types it is false and `!=` true;
 *   `<`/`>` compare two numbers or two strings, anything else is false.
 */

const NUMERIC_CMP = {
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
};
const FLIP = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const;
type OrderOp = keyof typeof FLIP;

function isPrimitiveLiteral(e: Expr): e is Extract<Expr, { kind: 'number' | 'string' | 'boolean' }> {
  return e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean';
}

function constant(v: Value): Fn {
  return () => v;
}
const NULL_FN: Fn = () => null;

class Compiler {
  private readonly aggregates = new Map<string, AggregateRef>();
  private readonly filters = new Map<string, EventFilter>();
  private readonly profile = new Map<string, readonly string[]>();
  private readonly context = new Map<string, readonly string[]>();
  private readonly traits = new Set<string>();
  private readonly segments = new Set<string>();
  private timeDependent = false;

  constructor(private readonly source: string | undefined) {}

  requirements(): Requirements {
    return Object.freeze({
      aggregates: Object.freeze([...this.aggregates.values()]),
      profile: Object.freeze([...this.profile.values()]),
      traits: Object.freeze([...this.traits]),
      segments: Object.freeze([...this.segments]),
      context: Object.freeze([...this.context.values()]),
      timeDependent: this.timeDependent,
    });
  }

  private path(map: Map<string, readonly string[]>, path: readonly string[]): readonly string[] {
    const key = JSON.stringify(path);
    let p = map.get(key);
    if (!p) {
      p = Object.freeze([...path]);
      map.set(key, p);
    }
    return p;
  }

  node(e: Expr, scope: Scope): Fn {
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'boolean':
        return constant(e.value);
      case 'null':
      case 'duration':
        return NULL_FN;
      case 'list': {
        if (e.items.every((i) => isPrimitiveLiteral(i) || i.kind === 'null')) {
          const v = Object.freeze(e.items.map((i) => (i.kind === 'null' ? null : (i as { value: Value }).value)));
          return constant(v as Value[]);
        }
        const items = e.items.map((i) => this.node(i, scope));
        return (c) => items.map((f) => toValue(f(c)));
      }
      case 'unary': {
        const f = this.node(e.operand, scope);
        if (e.op === '!') {
          return (c) => {
            const v = f(c);
            return v === true ? false : v === false ? true : null;
          };
        }
        return (c) => {
          const v = f(c);
          return typeof v === 'number' ? -v : null;
        };
      }
      case 'binary':
        return this.binary(e, scope);
      case 'call':
        return this.call(e, scope);
      case 'name':
      case 'trait': {
        if (scope === 'event') return NULL_FN;
        const key = e.kind === 'name' ? e.name : e.key;
        this.traits.add(key);
        return (c: EvalEnv) => c.trait(key);
      }
      case 'segment': {
        if (scope === 'event') return NULL_FN;
        const key = e.key;
        this.segments.add(key);
        return (c: EvalEnv) => c.segment(key) === true;
      }
      case 'profile': {
        if (scope === 'event') return NULL_FN;
        const path = this.path(this.profile, e.path);
        return (c: EvalEnv) => c.profile(path);
      }
      case 'context': {
        if (scope === 'event') {
          const path = Object.freeze(['context', ...e.path]);
          return (ev) => readEventField(ev, path);
        }
        const path = this.path(this.context, e.path);
        return (c: EvalEnv) => c.context(path);
      }
      case 'event_field': {
        if (scope === 'profile') return NULL_FN;
        const path = Object.freeze([...e.path]);
        return (ev) => readEventField(ev, path);
      }
      case 'aggregate': {
        if (scope === 'event') return NULL_FN;
        const ref = this.aggregateRef(e);
        if (!ref) return NULL_FN;
        return (c: EvalEnv) => c.aggregate(ref);
      }
    }
  }

  /**
   * A direct env read (`events.x.count_30d`, `total_spent`, `profile.plan`, `context.country`), so
   * hot comparisons can call the env themselves instead of through another closure.
   */
  private leaf(e: Expr, scope: Scope): Leaf | null {
    if (scope !== 'profile') return null;
    switch (e.kind) {
      case 'aggregate': {
        const ref = this.aggregateRef(e);
        return ref ? { kind: 'aggregate', ref } : null;
      }
      case 'name':
      case 'trait': {
        const key = e.kind === 'name' ? e.name : e.key;
        this.traits.add(key);
        return { kind: 'trait', key };
      }
      case 'profile':
        return { kind: 'profile', path: this.path(this.profile, e.path) };
      case 'context':
        return { kind: 'context', path: this.path(this.context, e.path) };
      default:
        return null;
    }
  }

  private aggregateRef(e: Extract<Expr, { kind: 'aggregate' }>): AggregateRef | null {
    const r = resolveMetric(e.metric);
    if (!r.ok) return null;
    const filter = e.filter && e.event !== null ? this.filter(e.filter) : null;
    const id = aggregateId(e.event, filter?.id ?? null, r.metric);
    let ref = this.aggregates.get(id);
    if (!ref) {
      ref = Object.freeze({ event: e.event, filter, metric: r.metric, id });
      this.aggregates.set(id, ref);
      if (isTimeDependent(r.metric)) this.timeDependent = true;
    }
    return ref;
  }

  private filter(e: Expr): EventFilter {
    const id = print(e);
    const existing = this.filters.get(id);
    if (existing) return existing;
    const fn = this.node(e, 'event');
    const source = this.source?.slice(e.span.offset, e.span.offset + e.span.length) || id;
    const filter: EventFilter = Object.freeze({
      id,
      source,
      test(event: EventView): boolean {
        try {
          return fn(event) === true;
        } catch {
          return false;
        }
      },
    });
    this.filters.set(id, filter);
    return filter;
  }

  private binary(e: BinaryExpr, scope: Scope): Fn {
    const { op, left, right } = e;
    switch (op) {
      case '&&': {
        const f = this.node(left, scope);
        const g = this.node(right, scope);
        return (c) => f(c) === true && g(c) === true;
      }
      case '||': {
        const f = this.node(left, scope);
        const g = this.node(right, scope);
        return (c) => f(c) === true || g(c) === true;
      }
      case '==':
      case '!=':
        return this.equality(op, left, right, scope);
      case '<':
      case '<=':
      case '>':
      case '>=':
        return this.ordering(op, left, right, scope);
      case 'in':
      case 'not in':
        return this.membership(op === 'not in', left, right, scope);
      default:
        return this.arithmetic(op, left, right, scope);
    }
  }

  private equality(op: '==' | '!=', left: Expr, right: Expr, scope: Scope): Fn {
    const eq = op === '==';
    // The one null exception: `x == null` / `x != null` test for missing data.
    if (left.kind === 'null' || right.kind === 'null') {
      const other = left.kind === 'null' ? right : left;
      const f = this.node(other, scope);
      return eq ? (c) => isNullish(f(c)) : (c) => !isNullish(f(c));
    }
    const lit = isPrimitiveLiteral(right) ? right : isPrimitiveLiteral(left) ? left : null;
    if (lit) {
      const other = lit === right ? left : right;
      const k = lit.value;
      const leaf = this.leaf(other, scope);
      if (leaf) return fusedEquality(leaf, eq, k);
      const f = this.node(other, scope);
      return eq
        ? (c) => f(c) === k
        : (c) => {
            const v = f(c);
            return v !== null && v !== undefined && v !== k;
          };
    }
    const f = this.node(left, scope);
    const g = this.node(right, scope);
    return (c) => {
      const a = f(c);
      const b = g(c);
      if (isNullish(a) || isNullish(b)) return false;
      return valueEquals(a, b) === eq;
    };
  }

  private ordering(op: OrderOp, left: Expr, right: Expr, scope: Scope): Fn {
    // Specialize `x >= 1` (and `1 <= x`): the common shape of segment rules.
    const litRight = right.kind === 'number' || right.kind === 'string';
    const litLeft = left.kind === 'number' || left.kind === 'string';
    if (litRight || litLeft) {
      const k = (litRight ? right : left) as Extract<Expr, { kind: 'number' | 'string' }>;
      const o: OrderOp = litRight ? op : FLIP[op];
      const other = litRight ? left : right;
      const kv = k.value;
      const leaf = typeof kv === 'number' ? this.leaf(other, scope) : null;
      if (leaf && typeof kv === 'number') return fusedNumberOrdering(leaf, o, kv);
      const f = this.node(other, scope);
      if (typeof kv === 'number') {
        switch (o) {
          case '<':
            return (c) => {
              const v = f(c);
              return typeof v === 'number' && v < kv;
            };
          case '<=':
            return (c) => {
              const v = f(c);
              return typeof v === 'number' && v <= kv;
            };
          case '>':
            return (c) => {
              const v = f(c);
              return typeof v === 'number' && v > kv;
            };
          case '>=':
            return (c) => {
              const v = f(c);
              return typeof v === 'number' && v >= kv;
            };
        }
      }
      const cmp = NUMERIC_CMP[o] as unknown as (a: string, b: string) => boolean;
      return (c) => {
        const v = f(c);
        return typeof v === 'string' && cmp(v, kv);
      };
    }
    const f = this.node(left, scope);
    const g = this.node(right, scope);
    return (c) => compare(op, f(c), g(c));
  }

  private membership(negate: boolean, left: Expr, right: Expr, scope: Scope): Fn {
    if (right.kind === 'list' && right.items.every((i) => isPrimitiveLiteral(i) || i.kind === 'null')) {
      // Null items never match (a null left side is false), so only primitives go in the set.
      const values = [...new Set<Value>(right.items.filter(isPrimitiveLiteral).map((i) => i.value))];
      const leaf = this.leaf(left, scope);
      if (leaf && !negate && values.length <= 2 && leaf.kind === 'profile') {
        // `profile.plan in ["premium", "enterprise"]`: the commonest membership test, fully inlined.
        const path = leaf.path;
        const [a, b] = values;
        return (c: EvalEnv) => {
          const v = c.profile(path);
          return v !== null && v !== undefined && (v === a || v === b);
        };
      }
      const f = leaf ? readerOf(leaf) : this.node(left, scope);
      const has = literalMembership(values);
      return negate
        ? (c) => {
            const v = f(c);
            return v !== null && v !== undefined && !has(v);
          }
        : (c) => {
            const v = f(c);
            return v !== null && v !== undefined && has(v);
          };
    }
    const f = this.node(left, scope);
    const g = this.node(right, scope);
    return negate
      ? (c) => {
          const a = f(c);
          const b = g(c);
          return !isNullish(a) && Array.isArray(b) && !inList(a, b);
        }
      : (c) => inList(f(c), g(c));
  }

  private arithmetic(op: '+' | '-' | '*' | '/' | '%', left: Expr, right: Expr, scope: Scope): Fn {
    const f = this.node(left, scope);
    const g = this.node(right, scope);
    switch (op) {
      case '+':
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'number' && typeof b === 'number' ? finite(a + b) : null;
        };
      case '-':
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'number' && typeof b === 'number' ? finite(a - b) : null;
        };
      case '*':
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'number' && typeof b === 'number' ? finite(a * b) : null;
        };
      case '/':
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'number' && typeof b === 'number' && b !== 0 ? finite(a / b) : null;
        };
      case '%':
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'number' && typeof b === 'number' && b !== 0 ? finite(a % b) : null;
        };
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Fn {
    const args = e.args.map((a) => this.node(a, scope));
    const [f, g] = args;
    switch (e.name) {
      case 'contains':
        if (!f || !g || args.length !== 2) return NULL_FN;
        return (c) => {
          const a = f(c);
          const b = g(c);
          if (isNullish(b)) return false;
          if (typeof a === 'string') return typeof b === 'string' && a.includes(b);
          return inList(b, a);
        };
      case 'starts_with':
      case 'ends_with': {
        if (!f || !g || args.length !== 2) return NULL_FN;
        const starts = e.name === 'starts_with';
        return (c) => {
          const a = f(c);
          const b = g(c);
          return typeof a === 'string' && typeof b === 'string' && (starts ? a.startsWith(b) : a.endsWith(b));
        };
      }
      case 'lower':
        if (!f || args.length !== 1) return NULL_FN;
        return (c) => {
          const a = f(c);
          return typeof a === 'string' ? a.toLowerCase() : null;
        };
      case 'coalesce':
        return (c) => {
          for (const h of args) {
            const v = h(c);
            if (!isNullish(v)) return v;
          }
          return null;
        };
      default:
        return NULL_FN;
    }
  }
}

/** Membership in a list of primitive literals: `===` compares for short lists, a Set for long ones. */
function literalMembership(values: readonly Value[]): (v: unknown) => boolean {
  const [a, b] = values;
  switch (values.length) {
    case 0:
      return () => false;
    case 1:
      return (v) => v === a;
    case 2:
      return (v) => v === a || v === b;
    default: {
      if (values.length <= 8) {
        return (v) => {
          for (let i = 0; i < values.length; i++) if (values[i] === v) return true;
          return false;
        };
      }
      const set = new Set<unknown>(values);
      return (v) => set.has(v);
    }
  }
}

type Leaf =
  | { readonly kind: 'aggregate'; readonly ref: AggregateRef }
  | { readonly kind: 'trait'; readonly key: string }
  | { readonly kind: 'profile'; readonly path: readonly string[] }
  | { readonly kind: 'context'; readonly path: readonly string[] };

function readerOf(leaf: Leaf): Fn {
  switch (leaf.kind) {
    case 'aggregate': {
      const ref = leaf.ref;
      return (c: EvalEnv) => c.aggregate(ref);
    }
    case 'trait': {
      const key = leaf.key;
      return (c: EvalEnv) => c.trait(key);
    }
    case 'profile': {
      const path = leaf.path;
      return (c: EvalEnv) => c.profile(path);
    }
    case 'context': {
      const path = leaf.path;
      return (c: EvalEnv) => c.context(path);
    }
  }
}

/** `leaf == k` / `leaf != k` for a primitive literal k, reading the env directly. */
function fusedEquality(leaf: Leaf, eq: boolean, k: Value): Fn {
  if (leaf.kind === 'aggregate') {
    const ref = leaf.ref;
    return eq
      ? (c: EvalEnv) => c.aggregate(ref) === k
      : (c: EvalEnv) => {
          const v = c.aggregate(ref);
          return v !== null && v !== undefined && v !== k;
        };
  }
  if (leaf.kind === 'trait') {
    const key = leaf.key;
    return eq
      ? (c: EvalEnv) => c.trait(key) === k
      : (c: EvalEnv) => {
          const v = c.trait(key);
          return v !== null && v !== undefined && v !== k;
        };
  }
  const f = readerOf(leaf);
  return eq
    ? (c) => f(c) === k
    : (c) => {
        const v = f(c);
        return v !== null && v !== undefined && v !== k;
      };
}

/** `leaf <op> k` for a number literal k, reading the env directly. */
function fusedNumberOrdering(leaf: Leaf, op: OrderOp, k: number): Fn {
  if (leaf.kind === 'aggregate') {
    const ref = leaf.ref;
    switch (op) {
      case '<':
        return (c: EvalEnv) => {
          const v = c.aggregate(ref);
          return typeof v === 'number' && v < k;
        };
      case '<=':
        return (c: EvalEnv) => {
          const v = c.aggregate(ref);
          return typeof v === 'number' && v <= k;
        };
      case '>':
        return (c: EvalEnv) => {
          const v = c.aggregate(ref);
          return typeof v === 'number' && v > k;
        };
      case '>=':
        return (c: EvalEnv) => {
          const v = c.aggregate(ref);
          return typeof v === 'number' && v >= k;
        };
    }
  }
  if (leaf.kind === 'trait') {
    const key = leaf.key;
    switch (op) {
      case '<':
        return (c: EvalEnv) => {
          const v = c.trait(key);
          return typeof v === 'number' && v < k;
        };
      case '<=':
        return (c: EvalEnv) => {
          const v = c.trait(key);
          return typeof v === 'number' && v <= k;
        };
      case '>':
        return (c: EvalEnv) => {
          const v = c.trait(key);
          return typeof v === 'number' && v > k;
        };
      case '>=':
        return (c: EvalEnv) => {
          const v = c.trait(key);
          return typeof v === 'number' && v >= k;
        };
    }
  }
  const f = readerOf(leaf);
  const cmp = NUMERIC_CMP[op];
  return (c) => {
    const v = f(c);
    return typeof v === 'number' && cmp(v, k);
  };
}

export interface CompileAstOptions {
  /** Original source (for `CompiledExpression.source` and filter sources); defaults to `print(ast)`. */
  readonly source?: string;
  readonly type?: ExprType;
}

/**
 * Compiles any AST to a total closure, even one that does not type-check (ill-typed parts evaluate
 * to null). Use `compile` for user input: it parses and checks first.
 */
export function compileAst(ast: Expr, opts: CompileAstOptions = {}): CompiledExpression {
  const compiler = new Compiler(opts.source);
  const fn = compiler.node(ast, 'profile');
  const requirements = compiler.requirements();
  return Object.freeze({
    source: opts.source ?? print(ast),
    type: opts.type ?? 'any',
    requirements,
    evaluate(env: EvalEnv): Value {
      try {
        const v = fn(env);
        if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return null;
        return v;
      } catch {
        return null;
      }
    },
  });
}

/** What an AST reads (aggregates deduplicated by id, paths and keys deduplicated). */
export function requirementsOf(ast: Expr): Requirements {
  return compileAst(ast).requirements;
}

/**
 * Parses, checks and compiles `source` for `ctx`. Never throws. `ok: false` carries every error
 * (and warning) found; `ok: true` may carry warnings.
 */
export function compile(source: string, ctx: CheckContext): CompileResult {
  const parsed = parse(source);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const checked = check(parsed.ast, ctx, source);
  if (checked.diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics: checked.diagnostics };
  const expr = compileAst(parsed.ast, { source, type: checked.type });
  return { ok: true, expr, warnings: checked.diagnostics };
}
