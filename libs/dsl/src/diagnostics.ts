import { EOF, tokenLabel, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import type { Diagnostic, DiagnosticCode } from './types';

/** Where something is in the source. `line`/`column` are 1-based, `offset` 0-based. */
export interface Span {
  readonly offset: number;
  readonly length: number;
  readonly line: number;
  readonly column: number;
}

/** Longest source line shown in `rendered`. */
const MAX_LINE = 120;

/** Line and 1-based column of a 0-based offset. */
export function positionOf(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = 0; i < end; i++) {
    const c = source.charCodeAt(i);
    if (c === 10 /* \n */ || (c === 13 /* \r */ && source.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The source line holding `offset` and a caret line under `length` characters of it, e.g.
 * `"a >= \n     ^"`. Tabs are kept so the caret lines up. Without a source: just the caret.
 */
export function caretBlock(source: string | undefined, offset: number, length: number): string {
  if (source === undefined) return '^'.repeat(Math.max(1, Math.min(length, MAX_LINE)));
  const off = Math.max(0, Math.min(offset, source.length));
  let start = off;
  while (start > 0 && source[start - 1] !== '\n' && source[start - 1] !== '\r') start--;
  let end = off;
  while (end < source.length && source[end] !== '\n' && source[end] !== '\r') end++;
  // Long lines: show a window around the problem.
  let prefix = '';
  let suffix = '';
  if (off - start > MAX_LINE / 2) {
    start = off - MAX_LINE / 2;
    prefix = '…';
  }
  if (end - start > MAX_LINE) {
    end = start + MAX_LINE;
    suffix = '…';
  }
  const text = prefix + source.slice(start, end) + suffix;
  const pad = (prefix ? ' ' : '') + source.slice(start, off).replace(/[^\t]/g, ' ');
  const carets = Math.max(1, Math.min(length, end - off));
  return `${text}\n${pad}${'^'.repeat(carets)}`;
}

export function makeDiagnostic(
  code: DiagnosticCode,
  message: string,
  span: Span,
  source: string | undefined,
  severity: 'error' | 'warning' = 'error',
): Diagnostic {
  const length = Math.max(1, span.length);
  return {
    code,
    severity,
    message,
    line: span.line,
    column: span.column,
    offset: span.offset,
    length,
    rendered: caretBlock(source, span.offset, length),
  };
}

/** A span from a 0-based offset, computing line/column from the source. */
export function spanAt(source: string, offset: number, length: number): Span {
  const { line, column } = positionOf(source, offset);
  return { offset, length: Math.max(1, length), line, column };
}

/**
 * Human-readable report of one diagnostic:
 * `error[unexpected_end] 1:6: unexpected end of input: expected a value` followed by the source line
 * and a caret line (recomputed from `source`, so it works for diagnostics of any origin).
 */
export function renderDiagnostic(source: string, d: Diagnostic): string {
  return `${d.severity}[${d.code}] ${d.line}:${d.column}: ${d.message}\n${caretBlock(source, d.offset, d.length)}`;
}

// ---------------------------------------------------------------------------------------------
// Parser error messages

const RULE_DESCRIPTIONS: Record<string, string> = {
  expression: 'an expression',
  orExpr: 'an expression',
  andExpr: 'an expression',
  notExpr: 'an expression',
  comparison: 'an expression',
  inExpr: 'an expression',
  additive: 'an expression',
  multiplicative: 'an expression',
  unary: 'an expression',
  postfix: 'a value',
  primary: 'a value (number, string, name, list or parenthesized expression)',
  list: 'a list',
  args: 'arguments',
};

export function describeToken(token: IToken | undefined): string {
  if (token === undefined || token.tokenType === EOF) return 'end of input';
  const image = token.image.length > 24 ? `${token.image.slice(0, 24)}…` : token.image;
  return `'${image}'`;
}

function expectedList(paths: TokenType[][]): string {
  const labels = new Set<string>();
  for (const path of paths) {
    const first = path[0];
    if (first !== undefined) labels.add(tokenLabel(first));
  }
  const list = [...labels];
  if (list.length === 0) return '';
  if (list.length === 1) return list[0] ?? '';
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function foundPart(actual: IToken | undefined): string {
  return actual === undefined || actual.tokenType === EOF ? 'unexpected end of input' : `unexpected ${describeToken(actual)}`;
}

/** Chevrotain `errorMessageProvider`: short, user-facing messages. */
export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `${foundPart(actual)}: expected ${tokenLabel(expected)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}: expected an operator or the end of the expression`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what = RULE_DESCRIPTIONS[ruleName] ?? expectedList(expectedPathsPerAlt.flat());
    return `${foundPart(actual[0])}: expected ${what}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const what = RULE_DESCRIPTIONS[ruleName] ?? expectedList(expectedIterationPaths);
    return `${foundPart(actual[0])}: expected ${what}`;
  },
};
