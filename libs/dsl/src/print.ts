import type { BinaryOp, Expr } from './ast';
import { isIdentifierLike } from './names';
import { quoteString } from './internal/strings';
import { printEvent, printPath } from './internal/metrics';

const BINARY_PREC: Record<BinaryOp, number> = {
  '||': 1,
  '&&': 2,
  '==': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  in: 5,
  'not in': 5,
  '+': 6,
  '-': 6,
  '*': 7,
  '/': 7,
  '%': 7,
};
const NOT_PREC = 3;
const NEG_PREC = 8;
const ATOM_PREC = 9;

/** Comparisons and `in` don't chain: both operands must bind tighter. */
function isNonAssociative(op: BinaryOp): boolean {
  const p = BINARY_PREC[op];
  return p === 4 || p === 5;
}

function precOf(e: Expr): number {
  if (e.kind === 'binary') return BINARY_PREC[e.op];
  if (e.kind === 'unary') return e.op === '!' ? NOT_PREC : NEG_PREC;
  if (e.kind === 'number' && (e.value < 0 || Object.is(e.value, -0))) return NEG_PREC;
  return ATOM_PREC;
}

function printNumber(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/**
 * Canonical source for an AST: normalized spacing, `&&`/`||`/`!` spellings, double-quoted strings,
 * minimal parentheses (plus clarifying ones around the operand of `!` when it is an operator
 * expression). `parse(print(ast))` gives back the same AST (spans aside).
 */
export function print(ast: Expr): string {
  return p(ast, 0);
}

function wrap(e: Expr, minPrec: number): string {
  return precOf(e) < minPrec ? `(${p(e, 0)})` : p(e, minPrec);
}

function p(e: Expr, _minPrec: number): string {
  switch (e.kind) {
    case 'number':
      return printNumber(e.value);
    case 'string':
      return quoteString(e.value);
    case 'boolean':
      return e.value ? 'true' : 'false';
    case 'null':
      return 'null';
    case 'duration':
      return `${e.n}${e.unit}`;
    case 'list':
      return `[${e.items.map((i) => p(i, 0)).join(', ')}]`;
    case 'unary': {
      if (e.op === '!') {
        const o = e.operand;
        const simple = o.kind !== 'binary' && !(o.kind === 'unary' && o.op === '-');
        return simple ? `!${wrap(o, NOT_PREC)}` : `!(${p(o, 0)})`;
      }
      // `-1` would read back as a negative literal, `--x` is confusing: parenthesize those.
      const o = e.operand;
      const needParens = precOf(o) < NEG_PREC || o.kind === 'number' || (o.kind === 'unary' && o.op === '-');
      return needParens ? `-(${p(o, 0)})` : `-${p(o, NEG_PREC)}`;
    }
    case 'binary': {
      const prec = BINARY_PREC[e.op];
      const left = wrap(e.left, isNonAssociative(e.op) ? prec + 1 : prec);
      const right = wrap(e.right, prec + 1);
      return `${left} ${e.op} ${right}`;
    }
    case 'call':
      return `${e.name}(${e.args.map((a) => p(a, 0)).join(', ')})`;
    case 'name':
      return e.name;
    case 'trait':
      return `trait(${quoteString(e.key)})`;
    case 'segment':
      return `segment(${quoteString(e.key)})`;
    case 'profile':
      return `profile${printTail(e.path)}`;
    case 'context':
      return `context${printTail(e.path)}`;
    case 'event_field':
      return e.path.length === 1 && e.path[0] === 'event' ? 'event' : printPath(e.path);
    case 'aggregate': {
      const metric = `${e.metric.name}${e.metric.args === null ? '' : `(${e.metric.args.map((a) => p(a, 0)).join(', ')})`}`;
      if (e.event === null) return metric;
      const filter = e.filter === null ? '' : `.where(${p(e.filter, 0)})`;
      return `${printEvent(e.event)}${filter}.${metric}`;
    }
  }
}

function printTail(path: readonly string[]): string {
  return path.map((s) => (isIdentifierLike(s) ? `.${s}` : `[${quoteString(s)}]`)).join('');
}
