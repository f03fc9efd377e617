import { Lexer, type IToken } from 'chevrotain';
import { allTokens, StringLiteral } from './tokens';
import { makeDiagnostic, spanAt } from './diagnostics';
import { decodeString } from './internal/strings';
import type { Diagnostic } from './types';

/** The one lexer instance (chevrotain lexers are stateless between `tokenize` calls). */
export const dslLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });

const HINTS: Record<string, string> = {
  '=': "did you mean '=='?",
  '&': "did you mean '&&'?",
  '|': "did you mean '||'?",
  '`': 'strings use "double" or \'single\' quotes',
};

const MAX_LEX_ERRORS = 20;

/** Tokenizes `source`; lexer problems (bad characters, bad strings) come back as `lex_error`s. */
export function lex(source: string): { tokens: IToken[]; diagnostics: Diagnostic[] } {
  const result = dslLexer.tokenize(source);
  const diagnostics: Diagnostic[] = [];
  // Past a handful of errors more are noise (and each costs a caret rendering).
  for (const e of result.errors.slice(0, MAX_LEX_ERRORS)) {
    const text = source.slice(e.offset, e.offset + e.length);
    const first = text[0] ?? '';
    const hint = HINTS[first];
    const shown = text.length > 16 ? `${text.slice(0, 16)}…` : text;
    const message = `unexpected character${text.length > 1 ? 's' : ''} '${shown}'${hint ? `: ${hint}` : ''}`;
    diagnostics.push(makeDiagnostic('lex_error', message, spanAt(source, e.offset, e.length), source));
  }
  for (const t of result.tokens) {
    if (t.tokenType !== StringLiteral) continue;
    for (const p of decodeString(t.image).problems) {
      diagnostics.push(makeDiagnostic('lex_error', p.message, spanAt(source, t.startOffset + p.at, p.length), source));
    }
  }
  diagnostics.sort((a, b) => a.offset - b.offset);
  return { tokens: result.tokens, diagnostics };
}
