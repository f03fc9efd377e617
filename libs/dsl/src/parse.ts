import { EOF as EOF_TOKEN, type IRecognitionException, type IToken } from 'chevrotain';
import { lex } from './lexer';
import { parseTokens } from './parser';
import { astBuilder } from './visitor';
import { makeDiagnostic, spanAt, type Span } from './diagnostics';
import {
  Bang,
  Duration,
  False,
  Identifier,
  LBracket,
  LParen,
  Minus,
  NotKw,
  Null,
  NumberLiteral,
  RBracket,
  RParen,
  StringLiteral,
  True,
} from './tokens';
import type { Expr } from './ast';
import type { Diagnostic } from './types';

/** Longest accepted source, in UTF-16 code units. */
export const MAX_SOURCE_LENGTH = 4096;
/** Deepest accepted nesting of brackets, parentheses and prefix operators. */
export const MAX_DEPTH = 64;
/** At most this many diagnostics are reported for one source. */
const MAX_DIAGNOSTICS = 20;

export type ParseResult = { readonly ok: true; readonly ast: Expr } | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** Source text of ASTs returned by `parse`, so `check` can render carets without being given it. */
const sources = new WeakMap<Expr, string>();

export function sourceOf(ast: Expr): string | undefined {
  return sources.get(ast);
}

/**
 * Parses `source` into an AST. Never throws: problems come back as diagnostics (all lexer errors,
 * the syntax errors chevrotain's recovery can find, and misuse of names like `profile` or `events`).
 */
export function parse(source: string): ParseResult {
  if (typeof source !== 'string') {
    return { ok: false, diagnostics: [makeDiagnostic('syntax_error', 'source must be a string', spanAt('', 0, 1), '')] };
  }
  if (source.length > MAX_SOURCE_LENGTH) {
    const d = makeDiagnostic('too_long', `expression is ${source.length} characters long; the limit is ${MAX_SOURCE_LENGTH}`, spanAt(source, MAX_SOURCE_LENGTH, 1), source);
    return { ok: false, diagnostics: [d] };
  }
  const lexed = lex(source);
  const diagnostics: Diagnostic[] = [...lexed.diagnostics];
  const tokens = lexed.tokens;

  // Guard the recursive-descent parser (and everything after it) against deep nesting.
  const tooDeep = depthProblem(tokens, source);
  if (tooDeep) return { ok: false, diagnostics: [...diagnostics, tooDeep].slice(0, MAX_DIAGNOSTICS) };

  if (tokens.length === 0 && diagnostics.length === 0) {
    return { ok: false, diagnostics: [makeDiagnostic('unexpected_end', 'empty expression', spanAt(source, source.length, 1), source)] };
  }

  // Many brackets left open: chevrotain's error recovery re-walks the grammar once per open level
  // (slow, and it overflowed the stack at ~60 open calls/lists). Say what is wrong without it.
  const unclosed = unclosedProblem(tokens, source);
  if (unclosed) return { ok: false, diagnostics: [...diagnostics, unclosed].slice(0, MAX_DIAGNOSTICS) };

  let parsed: ReturnType<typeof parseTokens>;
  let built: ReturnType<typeof astBuilder.build> | null = null;
  try {
    parsed = parseTokens(tokens);
    if (parsed.errors.length === 0 && diagnostics.length === 0) built = astBuilder.build(parsed.cst, source);
  } catch (err) {
    // Last line of defence for the "never throws" contract (a stack overflow inside the parser library).
    if (!(err instanceof RangeError)) throw err;
    const d = makeDiagnostic('too_deep', 'expression is too deeply nested to parse', spanAt(source, 0, Math.max(1, Math.min(source.length, 1))), source);
    return { ok: false, diagnostics: [...diagnostics, d].slice(0, MAX_DIAGNOSTICS) };
  }
  const { errors } = parsed;
  const seen = new Set<string>();
  for (const e of errors) {
    const d = recognitionDiagnostic(e, source);
    const key = `${d.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diagnostics.push(d);
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: finish(diagnostics) };

  if (built === null) return { ok: false, diagnostics: finish(diagnostics) };
  if (built.diagnostics.length > 0 || !built.ast) return { ok: false, diagnostics: finish(built.diagnostics) };
  sources.set(built.ast, source);
  return { ok: true, ast: built.ast };
}

function finish(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.offset - b.offset).slice(0, MAX_DIAGNOSTICS);
}

function recognitionDiagnostic(e: IRecognitionException, source: string): Diagnostic {
  const token = e.token;
  if (token.tokenType === EOF_TOKEN || Number.isNaN(token.startOffset)) {
    // End of input: point just after the last real token.
    const prev = (e as { previousToken?: IToken }).previousToken;
    const span: Span =
      prev && !Number.isNaN(prev.startOffset)
        ? spanAt(source, (prev.endOffset ?? prev.startOffset) + 1, 1)
        : spanAt(source, source.length, 1);
    return makeDiagnostic('unexpected_end', e.message, span, source);
  }
  return makeDiagnostic('syntax_error', e.message, spanAt(source, token.startOffset, token.image.length), source);
}

const OPERAND_END = new Set([RParen, RBracket, Identifier, NumberLiteral, StringLiteral, Duration, True, False, Null]);

/**
 * Nesting depth as the parser will see it: open brackets/parentheses plus chains of prefix
 * operators (`!`, `not`, unary `-`) that have not been closed by an operand and a binary operator.
 */
function depthProblem(tokens: readonly IToken[], source: string): Diagnostic | null {
  const base: number[] = [0]; // prefix-operator depth at each open bracket
  let prefix = 0;
  let prev: IToken | undefined;
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === LParen || type === LBracket) {
      base.push(prefix);
    } else if (type === RParen || type === RBracket) {
      if (base.length > 1) prefix = base.pop() ?? 0;
    } else if (type === Bang || (type === NotKw && !isOperandEnd(prev)) || (type === Minus && !isOperandEnd(prev))) {
      prefix++;
    } else if (!OPERAND_END.has(type) && type !== NotKw) {
      // A binary operator or separator: prefix operators before it have been applied already.
      prefix = base[base.length - 1] ?? 0;
    }
    const depth = base.length - 1 + prefix;
    if (depth > MAX_DEPTH) {
      return makeDiagnostic('too_deep', `expression is nested more than ${MAX_DEPTH} levels deep`, spanAt(source, t.startOffset, t.image.length), source);
    }
    prev = t;
  }
  return null;
}

/** More open brackets/parentheses at the end than this are reported without running recovery. */
const MAX_UNCLOSED_FOR_RECOVERY = 8;

function unclosedProblem(tokens: readonly IToken[], source: string): Diagnostic | null {
  const open: IToken[] = [];
  for (const t of tokens) {
    if (t.tokenType === LParen || t.tokenType === LBracket) open.push(t);
    else if ((t.tokenType === RParen || t.tokenType === RBracket) && open.length > 0) {
      const top = open[open.length - 1]!;
      const matches = (top.tokenType === LParen) === (t.tokenType === RParen);
      if (!matches && open.length > MAX_UNCLOSED_FOR_RECOVERY) {
        // Recovery from a mismatched closer deep inside nesting costs ~0.5 s at 60 levels.
        return makeDiagnostic(
          'syntax_error',
          `'${t.image}' does not close '${top.image}' (opened at column ${top.startColumn ?? top.startOffset + 1})`,
          spanAt(source, t.startOffset, t.image.length),
          source,
        );
      }
      open.pop();
    }
  }
  if (open.length <= MAX_UNCLOSED_FOR_RECOVERY) return null;
  const first = open[0]!;
  return makeDiagnostic(
    'unexpected_end',
    `${open.length} brackets or parentheses are not closed (the first opens at column ${first.startColumn ?? first.startOffset + 1})`,
    spanAt(source, source.length, 1),
    source,
  );
}

function isOperandEnd(t: IToken | undefined): boolean {
  return t !== undefined && OPERAND_END.has(t.tokenType);
}
