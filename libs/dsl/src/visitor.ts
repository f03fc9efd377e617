import type { CstNode, CstNodeLocation, IToken } from 'chevrotain';
import { dslParser } from './parser';
import { NumberLiteral, StringLiteral, Duration, True, False, Null } from './tokens';
import { makeDiagnostic, type Span } from './diagnostics';
import { decodeString } from './internal/strings';
import { isFunctionName, isReservedName, TOP_LEVEL_METRICS } from './names';
import type { BinaryOp, Expr, MetricNode } from './ast';
import type { Diagnostic, DiagnosticCode, WindowUnit } from './types';

/**
 * Where an expression is evaluated: against the profile (the normal case) or against ONE event
 * (inside `where(...)` and aggregate arguments such as `sum(properties.amount, 30d)`).
 */
export type Scope = 'profile' | 'event';

type Ctx = Record<string, (CstNode | IToken)[] | undefined>;

/** A duration's digits beyond this are rejected at parse time (and can't be printed back). */
const MAX_DURATION_DIGITS = 9;

type Part =
  | { readonly kind: 'member'; readonly name: string; readonly span: Span }
  | { readonly kind: 'index'; readonly expr: CstNode; readonly span: Span }
  | { readonly kind: 'call'; readonly args: CstNode[]; readonly span: Span };

class BuildError extends Error {}

const BaseVisitor = dslParser.getBaseCstVisitorConstructor<Scope, Expr>();

function nodes(ctx: Ctx, key: string): CstNode[] {
  return (ctx[key] ?? []) as CstNode[];
}
function tokens(ctx: Ctx, key: string): IToken[] {
  return (ctx[key] ?? []) as IToken[];
}
function first<T>(xs: readonly T[]): T {
  const x = xs[0];
  if (x === undefined) throw new BuildError('malformed syntax tree');
  return x;
}

export function locSpan(loc: CstNodeLocation | undefined): Span {
  if (!loc) return { offset: 0, length: 1, line: 1, column: 1 };
  return {
    offset: loc.startOffset,
    length: Math.max(1, (loc.endOffset ?? loc.startOffset) - loc.startOffset + 1),
    line: loc.startLine ?? 1,
    column: loc.startColumn ?? 1,
  };
}
export function tokenSpan(t: IToken): Span {
  return { offset: t.startOffset, length: Math.max(1, t.image.length), line: t.startLine ?? 1, column: t.startColumn ?? 1 };
}
/** The span from the start of `a` to the end of `b`. */
export function joinSpans(a: Span, b: Span): Span {
  const end = Math.max(a.offset + a.length, b.offset + b.length);
  return { offset: a.offset, length: end - a.offset, line: a.line, column: a.column };
}

const COMPARE_OPS: Record<string, BinaryOp> = { '==': '==', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** CST → AST. Gives meaning to name chains (`events.x.count_30d`, `profile.a`, `f(x)`). */
class AstBuilder extends BaseVisitor {
  source = '';
  diagnostics: Diagnostic[] = [];

  constructor() {
    super();
    this.validateVisitor();
  }

  private report(code: DiagnosticCode, message: string, span: Span): void {
    this.diagnostics.push(makeDiagnostic(code, message, span, this.source));
  }

  private foldLeft(ctx: Ctx, scope: Scope, opOf: (image: string) => BinaryOp): Expr {
    const operands = nodes(ctx, 'operands');
    const ops = tokens(ctx, 'ops');
    let acc = this.visit(first(operands), scope);
    for (let i = 0; i < ops.length; i++) {
      const right = this.visit(operands[i + 1] as CstNode, scope);
      acc = { kind: 'binary', op: opOf((ops[i] as IToken).image), left: acc, right, span: joinSpans(acc.span, right.span) };
    }
    return acc;
  }

  expression(ctx: Ctx, scope: Scope): Expr {
    return this.visit(first(nodes(ctx, 'orExpr')), scope);
  }
  orExpr(ctx: Ctx, scope: Scope): Expr {
    return this.foldLeft(ctx, scope, () => '||');
  }
  andExpr(ctx: Ctx, scope: Scope): Expr {
    return this.foldLeft(ctx, scope, () => '&&');
  }
  notExpr(ctx: Ctx, scope: Scope): Expr {
    const op = tokens(ctx, 'op')[0];
    if (op) {
      const operand = this.visit(first(nodes(ctx, 'operand')), scope);
      return { kind: 'unary', op: '!', operand, span: joinSpans(tokenSpan(op), operand.span) };
    }
    return this.visit(first(nodes(ctx, 'comparison')), scope);
  }
  comparison(ctx: Ctx, scope: Scope): Expr {
    return this.foldLeft({ operands: ctx.operands, ops: ctx.op }, scope, (image) => COMPARE_OPS[image] ?? '==');
  }
  inExpr(ctx: Ctx, scope: Scope): Expr {
    const operands = nodes(ctx, 'operands');
    const left = this.visit(first(operands), scope);
    if (operands.length < 2) return left;
    const right = this.visit(operands[1] as CstNode, scope);
    const op: BinaryOp = tokens(ctx, 'not').length > 0 ? 'not in' : 'in';
    return { kind: 'binary', op, left, right, span: joinSpans(left.span, right.span) };
  }
  additive(ctx: Ctx, scope: Scope): Expr {
    return this.foldLeft(ctx, scope, (image) => (image === '-' ? '-' : '+'));
  }
  multiplicative(ctx: Ctx, scope: Scope): Expr {
    return this.foldLeft(ctx, scope, (image) => (image === '/' ? '/' : image === '%' ? '%' : '*'));
  }
  unary(ctx: Ctx, scope: Scope): Expr {
    const minus = tokens(ctx, 'minus')[0];
    if (!minus) return this.visit(first(nodes(ctx, 'postfix')), scope);
    const operandCst = first(nodes(ctx, 'operand'));
    const operand = this.visit(operandCst, scope);
    const span = joinSpans(tokenSpan(minus), operand.span);
    // `-1` is a negative literal; `-(1)` stays a negation (so printing round-trips exactly).
    if (operand.kind === 'number' && isBareNumber(operandCst)) return { kind: 'number', value: -operand.value, span };
    return { kind: 'unary', op: '-', operand, span };
  }

  postfix(ctx: Ctx, scope: Scope): Expr {
    const primary = first(nodes(ctx, 'head'));
    const suffixes = nodes(ctx, 'suffixes');
    const nameTok = tokens(primary.children as Ctx, 'name')[0];
    if (!nameTok) {
      const base = this.visit(primary, scope);
      const s = suffixes[0];
      if (s) this.report('syntax_error', "only names can be followed by '.', '[' or '('", locSpan(s.location));
      return base;
    }
    const wholeSpan = suffixes.length === 0 ? tokenSpan(nameTok) : joinSpans(tokenSpan(nameTok), locSpan(suffixes[suffixes.length - 1]?.location));
    return this.chain(nameTok, suffixes.map((s) => readSuffix(s)), scope, wholeSpan);
  }

  suffix(): Expr {
    throw new BuildError('suffix is read by postfix');
  }
  args(): Expr {
    throw new BuildError('args are read by postfix');
  }

  primary(ctx: Ctx, scope: Scope): Expr {
    const lit = tokens(ctx, 'literal')[0];
    if (lit) return this.literal(lit);
    const list = nodes(ctx, 'list')[0];
    if (list) return this.visit(list, scope);
    const inner = nodes(ctx, 'inner')[0];
    if (inner) return this.visit(inner, scope);
    const name = tokens(ctx, 'name')[0];
    if (name) return this.chain(name, [], scope, tokenSpan(name));
    throw new BuildError('malformed primary');
  }

  list(ctx: Ctx, scope: Scope): Expr {
    const items = nodes(ctx, 'items').map((n) => this.visit(n, scope));
    const open = first(tokens(ctx, 'open'));
    const close = tokens(ctx, 'close')[0] ?? open;
    return { kind: 'list', items, span: joinSpans(tokenSpan(open), tokenSpan(close)) };
  }

  private literal(t: IToken): Expr {
    const span = tokenSpan(t);
    switch (t.tokenType) {
      case NumberLiteral: {
        const value = Number(t.image);
        if (!Number.isFinite(value)) this.report('syntax_error', `number '${t.image}' is out of range`, span);
        return { kind: 'number', value: Number.isFinite(value) ? value : 0, span };
      }
      case StringLiteral:
        return { kind: 'string', value: decodeString(t.image).value, span };
      case Duration: {
        const digits = t.image.slice(0, -1);
        const unit = t.image.slice(-1) as WindowUnit;
        if (digits.length > MAX_DURATION_DIGITS) {
          this.report('bad_window', `window '${t.image}' is too large`, span);
          return { kind: 'duration', n: 0, unit, span };
        }
        return { kind: 'duration', n: Number(digits), unit, span };
      }
      case True:
        return { kind: 'boolean', value: true, span };
      case False:
        return { kind: 'boolean', value: false, span };
      case Null:
        return { kind: 'null', span };
      default:
        throw new BuildError('unknown literal');
    }
  }

  /** A path segment from `.name` or `["name"]`; reports and returns null for anything else. */
  private pathSegment(part: Part, scope: Scope, what: string): string | null {
    if (part.kind === 'member') return part.name;
    if (part.kind === 'index') {
      const e = this.visit(part.expr, scope);
      if (e.kind === 'string') return e.value;
      this.report('syntax_error', `expected a string in brackets, e.g. ${what}["Order Completed"]`, e.span);
      return null;
    }
    this.report('syntax_error', `unexpected '(': ${what} can't be called`, part.span);
    return null;
  }

  private path(parts: readonly Part[], scope: Scope, what: string, at: Span): string[] {
    if (parts.length === 0) {
      this.report('syntax_error', `expected a path after '${what}', e.g. ${what}.plan`, at);
      return [];
    }
    const out: string[] = [];
    for (const p of parts) {
      const seg = this.pathSegment(p, scope, what);
      if (seg !== null) out.push(seg);
    }
    return out;
  }

  private visitArgs(args: readonly CstNode[], scope: Scope): Expr[] {
    return args.map((a) => this.visit(a, scope));
  }

  private chain(nameTok: IToken, parts: Part[], scope: Scope, span: Span): Expr {
    const name = nameTok.image;
    const nameSpan = tokenSpan(nameTok);
    const head = parts[0];
    const rest = parts.slice(1);

    if (name === 'events') return this.eventsChain(parts, span, nameSpan);
    if (name === 'profile') return { kind: 'profile', path: this.path(parts, scope, 'profile', nameSpan), span };
    if (name === 'context') {
      const path = this.path(parts, scope, 'context', nameSpan);
      return scope === 'event' ? { kind: 'event_field', path: ['context', ...path], span } : { kind: 'context', path, span };
    }
    if (scope === 'event' && name === 'properties') {
      return { kind: 'event_field', path: ['properties', ...this.path(parts, scope, 'properties', nameSpan)], span };
    }
    if (scope === 'event' && name === 'event' && parts.length === 0) return { kind: 'event_field', path: ['event'], span };
    if ((TOP_LEVEL_METRICS as readonly string[]).includes(name)) {
      if (head) this.report('syntax_error', `'${name}' is a metric of any event and has no fields or arguments`, head.span);
      return { kind: 'aggregate', event: null, filter: null, metric: { name, args: null, span: nameSpan }, span };
    }
    if (head?.kind === 'call') {
      const args = this.visitArgs(head.args, scope);
      const callSpan = joinSpans(nameSpan, head.span);
      const extra = rest[0];
      if (extra) this.report('syntax_error', `unexpected ${describePart(extra)} after ${name}(...)`, extra.span);
      const arg = args[0];
      if ((name === 'trait' || name === 'segment') && args.length === 1 && arg?.kind === 'string') {
        return name === 'trait' ? { kind: 'trait', key: arg.value, span: callSpan } : { kind: 'segment', key: arg.value, span: callSpan };
      }
      return { kind: 'call', name, args, nameSpan, span: callSpan };
    }
    if (name === 'trait' || name === 'segment' || isFunctionName(name)) {
      this.report('reserved_name', `'${name}' is a function: call it as ${name}(...)`, nameSpan);
      return { kind: 'null', span };
    }
    if (isReservedName(name)) {
      this.report('reserved_name', `'${name}' is reserved and can't be used as a name`, nameSpan);
      return { kind: 'null', span };
    }
    if (head) {
      const message =
        scope === 'profile' && name === 'properties'
          ? "'properties' is only available inside where(...) and aggregate arguments, e.g. events.purchase.sum(properties.amount, 30d)"
          : scope === 'profile'
            ? `unknown name '${name}': only events, profile and context have fields`
            : `unknown name '${name}': inside where(...) only properties, context and event can be used`;
      this.report('unknown_name', message, nameSpan);
      return { kind: 'null', span };
    }
    return { kind: 'name', name, span };
  }

  private eventsChain(parts: readonly Part[], span: Span, nameSpan: Span): Expr {
    const evPart = parts[0];
    const fallback: Expr = { kind: 'null', span };
    if (!evPart || evPart.kind === 'call') {
      this.report('syntax_error', 'expected an event name: events.purchase or events["Order Completed"]', evPart?.span ?? nameSpan);
      return fallback;
    }
    const event = this.pathSegment(evPart, 'profile', 'events');
    if (event === null) return fallback;
    let i = 1;
    let filter: Expr | null = null;
    const maybeWhere = parts[i];
    const whereCall = parts[i + 1];
    if (maybeWhere?.kind === 'member' && maybeWhere.name === 'where' && whereCall?.kind === 'call') {
      const args = this.visitArgs(whereCall.args, 'event');
      if (args.length !== 1) {
        this.report('syntax_error', 'where(...) takes exactly one condition', joinSpans(maybeWhere.span, whereCall.span));
      }
      filter = args[0] ?? { kind: 'boolean', value: true, span: whereCall.span };
      i += 2;
    }
    const metricPart = parts[i];
    if (!metricPart || metricPart.kind !== 'member') {
      const at = metricPart?.span ?? parts[i - 1]?.span ?? nameSpan;
      this.report(
        metricPart ? 'syntax_error' : 'unexpected_end',
        `expected a metric after events.${event}, e.g. events.${event}.count_30d`,
        metricPart ? at : { ...at, offset: at.offset + at.length, column: at.column + at.length, length: 1 },
      );
      return fallback;
    }
    let metric: MetricNode;
    const call = parts[i + 1];
    if (call?.kind === 'call') {
      metric = { name: metricPart.name, args: this.visitArgs(call.args, 'event'), span: joinSpans(memberNameSpan(metricPart), call.span) };
      i += 2;
    } else {
      metric = { name: metricPart.name, args: null, span: memberNameSpan(metricPart) };
      i += 1;
    }
    const extra = parts[i];
    if (extra) {
      const message =
        metric.name === 'where'
          ? 'where(...) must come right after the event name, once: events.purchase.where(...).count_30d'
          : `unexpected ${describePart(extra)} after the metric '${metric.name}'`;
      this.report('syntax_error', message, extra.span);
    }
    return { kind: 'aggregate', event, filter, metric, span };
  }

  build(cst: CstNode, source: string): { ast: Expr | null; diagnostics: Diagnostic[] } {
    this.source = source;
    this.diagnostics = [];
    try {
      const ast = this.visit(cst, 'profile');
      return { ast, diagnostics: this.diagnostics };
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      const d = makeDiagnostic('syntax_error', 'malformed expression', { offset: 0, length: 1, line: 1, column: 1 }, source);
      return { ast: null, diagnostics: [...this.diagnostics, d] };
    }
  }
}

function memberNameSpan(p: Part): Span {
  // `.name`: point at the name, not the dot.
  if (p.kind !== 'member') return p.span;
  const len = p.name.length;
  const offset = p.span.offset + p.span.length - len;
  return { offset, length: len, line: p.span.line, column: p.span.column + (offset - p.span.offset) };
}

function describePart(p: Part): string {
  return p.kind === 'member' ? `'.${p.name}'` : p.kind === 'index' ? "'['" : "'('";
}

function readSuffix(s: CstNode): Part {
  const c = s.children as Ctx;
  const span = locSpan(s.location);
  const member = tokens(c, 'member')[0];
  if (member) return { kind: 'member', name: member.image, span };
  const index = nodes(c, 'index')[0];
  if (index) return { kind: 'index', expr: index, span };
  const args = nodes(c, 'args')[0];
  return { kind: 'call', args: args ? nodes(args.children as Ctx, 'items') : [], span };
}

/** Is this `unary` CST node just a number token (no parentheses, no suffixes)? */
function isBareNumber(unaryCst: CstNode): boolean {
  const postfix = nodes(unaryCst.children as Ctx, 'postfix')[0];
  if (!postfix) return false;
  const pc = postfix.children as Ctx;
  if (nodes(pc, 'suffixes').length > 0) return false;
  const primary = nodes(pc, 'head')[0];
  const lit = primary ? tokens(primary.children as Ctx, 'literal')[0] : undefined;
  return lit?.tokenType === NumberLiteral;
}

/** The one AST builder instance (like the parser, reused). */
export const astBuilder = new AstBuilder();
