import type { Expr } from './ast';
import { makeDiagnostic, type Span } from './diagnostics';
import { didYouMean } from './internal/levenshtein';
import { metricCandidates, resolveMetric } from './internal/metrics';
import { FUNCTION_NAMES, isFunctionName, isReservedName, TOP_LEVEL_METRICS } from './names';
import { sourceOf } from './parse';
import type { Scope } from './visitor';
import type { CheckContext, Diagnostic, DiagnosticCode, ExprType } from './types';

export interface CheckResult {
  /** Static result type ('any' when it depends on data, or after an error). */
  readonly type: ExprType;
  /** Errors and warnings (see `severity`), in source order. */
  readonly diagnostics: Diagnostic[];
}

const ARITY: Record<string, [min: number, max: number]> = {
  contains: [2, 2],
  starts_with: [2, 2],
  ends_with: [2, 2],
  lower: [1, 1],
  coalesce: [1, Infinity],
};

const CONCRETE = new Set<ExprType>(['boolean', 'number', 'string', 'list']);

function article(t: ExprType): string {
  return t === 'any' ? 'a value of unknown type' : t === 'null' ? 'null' : t === 'list' ? 'a list' : `a ${t}`;
}

/**
 * Checks names and types. Never throws. `source` is only used to render carets; for an AST that came
 * from `parse` it is found automatically.
 * - bare names and `trait("k")` must be known traits; `segment("k")` a known segment;
 * - reserved names can't be trait/segment keys; referring to `ctx.selfKey` is a `cycle`;
 * - a segment or flag rule must be boolean (`not_boolean`; a warning when the type is only known
 *   at run time, e.g. `profile.is_admin`).
 */
export function check(ast: Expr, ctx: CheckContext, source?: string): CheckResult {
  const checker = new Checker(ctx, source ?? sourceOf(ast));
  let type = checker.expr(ast, 'profile');
  if (ctx.kind === 'segment' || ctx.kind === 'flag') {
    const what = ctx.kind === 'segment' ? 'a segment rule' : 'a flag rule';
    if (type === 'any') {
      checker.report('not_boolean', `${what} should be true or false; this value is only known at run time and counts as false unless it is true`, ast.span, 'warning');
    } else if (type !== 'boolean') {
      const hint = type === 'number' ? `, e.g. '... >= 1'` : '';
      checker.report('not_boolean', `${what} must be true or false, but this is ${article(type)}${hint}`, ast.span);
      type = 'any';
    }
  }
  checker.diagnostics.sort((a, b) => a.offset - b.offset);
  return { type, diagnostics: checker.diagnostics };
}

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    private readonly ctx: CheckContext,
    private readonly source: string | undefined,
  ) {}

  report(code: DiagnosticCode, message: string, span: Span, severity: 'error' | 'warning' = 'error'): void {
    this.diagnostics.push(makeDiagnostic(code, message, span, this.source, severity));
  }

  /** Reports a type problem unless an operand already failed ('any' absorbs errors). */
  private expect(t: ExprType, ok: (t: ExprType) => boolean, message: string, span: Span): void {
    if (t !== 'any' && !ok(t)) this.report('type_mismatch', message, span);
  }

  expr(e: Expr, scope: Scope): ExprType {
    switch (e.kind) {
      case 'number':
        return 'number';
      case 'string':
        return 'string';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'duration':
        this.report('type_mismatch', `a duration like ${e.n}${e.unit} can only be an aggregate window, e.g. events.purchase.sum(properties.amount, 30d)`, e.span);
        return 'any';
      case 'list':
        for (const item of e.items) this.expr(item, scope);
        return 'list';
      case 'unary': {
        const t = this.expr(e.operand, scope);
        if (e.op === '!') {
          this.expect(t, (x) => x === 'boolean' || x === 'null', `'!' needs a boolean, but this is ${article(t)}`, e.operand.span);
          return 'boolean';
        }
        this.expect(t, (x) => x === 'number' || x === 'null', `'-' needs a number, but this is ${article(t)}`, e.operand.span);
        return 'number';
      }
      case 'binary':
        return this.binary(e, scope);
      case 'call':
        return this.call(e, scope);
      case 'name':
        if (scope === 'event') {
          this.report(
            'unknown_name',
            `'${e.name}' can't be used inside where(...): only properties.<path>, context.<path> and event; did you mean properties.${e.name}?`,
            e.span,
          );
          return 'any';
        }
        return this.traitType(e.name, e.span, true);
      case 'trait':
        if (scope === 'event') return this.notInEventScope('traits', e.span);
        return this.traitType(e.key, e.span, false);
      case 'segment':
        if (scope === 'event') return this.notInEventScope('segments', e.span);
        return this.segmentType(e.key, e.span);
      case 'profile':
        if (scope === 'event') return this.notInEventScope('profile fields', e.span);
        return 'any';
      case 'context':
        return 'any';
      case 'event_field':
        if (scope === 'profile') {
          this.report('unknown_name', `'${e.path[0] ?? ''}' is only available inside where(...) and aggregate arguments`, e.span);
          return 'any';
        }
        return e.path.length === 1 && e.path[0] === 'event' ? 'string' : 'any';
      case 'aggregate':
        return this.aggregate(e, scope);
    }
  }

  private notInEventScope(what: string, span: Span): ExprType {
    this.report('bad_arguments', `${what} can't be used inside where(...) or aggregate arguments: they see one event`, span);
    return 'any';
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, scope: Scope): ExprType {
    const lt = this.expr(e.left, scope);
    const rt = this.expr(e.right, scope);
    switch (e.op) {
      case '||':
      case '&&': {
        const ok = (x: ExprType) => x === 'boolean' || x === 'null';
        this.expect(lt, ok, `'${e.op}' needs booleans, but this is ${article(lt)}`, e.left.span);
        this.expect(rt, ok, `'${e.op}' needs booleans, but this is ${article(rt)}`, e.right.span);
        return 'boolean';
      }
      case '==':
      case '!=':
        if (e.left.kind === 'null' || e.right.kind === 'null') return 'boolean';
        if (CONCRETE.has(lt) && CONCRETE.has(rt) && lt !== rt) {
          this.report('type_mismatch', `comparing ${article(lt)} with ${article(rt)} is never equal`, e.span);
        }
        return 'boolean';
      case '<':
      case '<=':
      case '>':
      case '>=':
        if (e.left.kind === 'null' || e.right.kind === 'null') {
          this.report('type_mismatch', `'${e.op}' with null is always false; use '== null' or '!= null'`, e.span);
          return 'boolean';
        }
        if (lt === 'any' || rt === 'any') {
          const known = lt === 'any' ? rt : lt;
          this.expect(known, (x) => x === 'number' || x === 'string', `'${e.op}' compares numbers or strings, not ${article(known)}`, e.span);
          return 'boolean';
        }
        if (!((lt === 'number' || lt === 'string') && lt === rt)) {
          this.report('type_mismatch', `'${e.op}' compares two numbers or two strings, not ${article(lt)} with ${article(rt)}`, e.span);
        }
        return 'boolean';
      case 'in':
      case 'not in': {
        this.expect(rt, (x) => x === 'list', `'${e.op}' needs a list on the right, e.g. x in ["a", "b"]; this is ${article(rt)}`, e.right.span);
        if (e.right.kind === 'list' && CONCRETE.has(lt) && e.right.items.length > 0) {
          const compatible = e.right.items.some((i) => i.kind === 'null' || !isLiteral(i) || literalType(i) === lt);
          if (!compatible) this.report('type_mismatch', `${article(lt)} is never in this list`, e.span);
        }
        return 'boolean';
      }
      default: {
        const ok = (x: ExprType) => x === 'number' || x === 'null';
        this.expect(lt, ok, `'${e.op}' needs numbers, but this is ${article(lt)}`, e.left.span);
        this.expect(rt, ok, `'${e.op}' needs numbers, but this is ${article(rt)}`, e.right.span);
        return 'number';
      }
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): ExprType {
    const types = e.args.map((a) => this.expr(a, scope));
    if (e.name === 'trait' || e.name === 'segment') {
      this.report('bad_arguments', `${e.name}(...) takes one string, e.g. ${e.name}("vip_users")`, e.span);
      return e.name === 'segment' ? 'boolean' : 'any';
    }
    if (!isFunctionName(e.name)) {
      this.report('unknown_function', `unknown function '${e.name}'${didYouMean(e.name, [...FUNCTION_NAMES, 'trait', 'segment'])}`, e.nameSpan);
      return 'any';
    }
    const [min, max] = ARITY[e.name] ?? [0, 0];
    if (e.args.length < min || e.args.length > max) {
      const want = min === max ? `${min}` : `at least ${min}`;
      this.report('bad_arguments', `${e.name} takes ${want} argument${min === 1 && max === 1 ? '' : 's'}, got ${e.args.length}`, e.span);
      return e.name === 'lower' ? 'string' : e.name === 'coalesce' ? 'any' : 'boolean';
    }
    const strOk = (x: ExprType) => x === 'string' || x === 'null';
    const [a0, a1] = [types[0] ?? 'any', types[1] ?? 'any'];
    const s0 = e.args[0]?.span ?? e.span;
    const s1 = e.args[1]?.span ?? e.span;
    switch (e.name) {
      case 'contains':
        this.expect(a0, (x) => x === 'string' || x === 'list' || x === 'null', `contains needs a string or a list first, not ${article(a0)}`, s0);
        if (a0 === 'string') this.expect(a1, strOk, `contains on a string needs a string to look for, not ${article(a1)}`, s1);
        return 'boolean';
      case 'starts_with':
      case 'ends_with':
        this.expect(a0, strOk, `${e.name} needs strings, not ${article(a0)}`, s0);
        this.expect(a1, strOk, `${e.name} needs strings, not ${article(a1)}`, s1);
        return 'boolean';
      case 'lower':
        this.expect(a0, strOk, `lower needs a string, not ${article(a0)}`, s0);
        return 'string';
      case 'coalesce': {
        const known = [...new Set(types.filter((t) => t !== 'null'))];
        return known.length === 1 ? (known[0] ?? 'any') : known.length === 0 ? 'null' : 'any';
      }
    }
  }

  private traitType(key: string, span: Span, bare: boolean): ExprType {
    const { ctx } = this;
    if (isReservedName(key)) {
      this.report('reserved_name', `'${key}' is reserved and can't be a trait`, span);
      return 'any';
    }
    if (ctx.kind === 'trait' && ctx.selfKey === key) {
      this.report('cycle', `trait '${key}' refers to itself`, span);
      return 'any';
    }
    const t = ctx.traits.get(key);
    if (t !== undefined) return t;
    if (bare) {
      const segHint = ctx.segments.has(key) ? `; did you mean segment(${JSON.stringify(key)})?` : '';
      const hint = segHint || didYouMean(key, [...ctx.traits.keys(), ...TOP_LEVEL_METRICS]);
      this.report('unknown_name', `unknown name '${key}'${hint}`, span);
    } else {
      this.report('unknown_trait', `unknown trait '${key}'${didYouMean(key, ctx.traits.keys(), (s) => `trait(${JSON.stringify(s)})`)}`, span);
    }
    return 'any';
  }

  private segmentType(key: string, span: Span): ExprType {
    const { ctx } = this;
    if (isReservedName(key)) {
      this.report('reserved_name', `'${key}' is reserved and can't be a segment`, span);
    } else if (ctx.kind === 'segment' && ctx.selfKey === key) {
      this.report('cycle', `segment '${key}' refers to itself`, span);
    } else if (!ctx.segments.has(key)) {
      this.report('unknown_segment', `unknown segment '${key}'${didYouMean(key, ctx.segments, (s) => `segment(${JSON.stringify(s)})`)}`, span);
    }
    return 'boolean';
  }

  private aggregate(e: Extract<Expr, { kind: 'aggregate' }>, scope: Scope): ExprType {
    if (scope === 'event') return this.notInEventScope('aggregates', e.span);
    if (e.filter) {
      const ft = this.expr(e.filter, 'event');
      if (ft !== 'boolean' && ft !== 'any') this.report('not_boolean', `where(...) needs a condition that is true or false, not ${article(ft)}`, e.filter.span);
    }
    if (e.metric.args) {
      for (const a of e.metric.args) if (a.kind !== 'duration') this.expr(a, 'event');
    }
    const r = resolveMetric(e.metric);
    if (!r.ok) {
      const { code, message, span } = r.problem;
      this.report(code, code === 'unknown_metric' ? `${message}${didYouMean(e.metric.name, metricCandidates(e.metric.name))}` : message, span);
      return 'any';
    }
    switch (r.metric.kind) {
      case 'min':
      case 'max':
      case 'last':
        return 'any';
      default:
        return 'number';
    }
  }
}

function isLiteral(e: Expr): boolean {
  return e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean' || e.kind === 'null' || e.kind === 'list';
}
function literalType(e: Expr): ExprType {
  return e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean' || e.kind === 'list' ? e.kind : 'any';
}
