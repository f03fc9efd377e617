import { createToken, Lexer, type TokenType } from 'chevrotain';

/**
 * Token definitions. Order in `allTokens` matters: longer operators before their prefixes, keywords
 * before Identifier (with `longer_alt` so `inner` is an identifier, not `in` + `ner`), Duration before
 * NumberLiteral (`30d` is a duration, `30` a number).
 */

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });

/** Anything that may follow a dot: identifiers and keywords (`profile.in` is a path). */
export const AnyName = createToken({ name: 'AnyName', pattern: Lexer.NA, label: 'a name' });
Identifier.CATEGORIES = [AnyName];

// Operator categories: the keyword and symbol spellings are the same operator.
export const OrOp = createToken({ name: 'OrOp', pattern: Lexer.NA, label: "'||'" });
export const AndOp = createToken({ name: 'AndOp', pattern: Lexer.NA, label: "'&&'" });
export const NotOp = createToken({ name: 'NotOp', pattern: Lexer.NA, label: "'!'" });
export const CompareOp = createToken({ name: 'CompareOp', pattern: Lexer.NA, label: 'a comparison operator' });
export const AdditiveOp = createToken({ name: 'AdditiveOp', pattern: Lexer.NA, label: "'+' or '-'" });
export const MultiplicativeOp = createToken({ name: 'MultiplicativeOp', pattern: Lexer.NA, label: "'*', '/' or '%'" });

function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({
    name: `Kw_${word}`,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: [...categories, AnyName],
    label: `'${word}'`,
  });
}

export const True = keyword('true');
export const False = keyword('false');
export const Null = keyword('null');
export const OrKw = keyword('or', [OrOp]);
export const AndKw = keyword('and', [AndOp]);
export const NotKw = keyword('not', [NotOp]);
export const In = keyword('in');

export const OrSym = createToken({ name: 'OrSym', pattern: '||', categories: [OrOp], label: "'||'" });
export const AndSym = createToken({ name: 'AndSym', pattern: '&&', categories: [AndOp], label: "'&&'" });
export const Eq = createToken({ name: 'Eq', pattern: '==', categories: [CompareOp], label: "'=='" });
export const NotEq = createToken({ name: 'NotEq', pattern: '!=', categories: [CompareOp], label: "'!='" });
export const Le = createToken({ name: 'Le', pattern: '<=', categories: [CompareOp], label: "'<='" });
export const Ge = createToken({ name: 'Ge', pattern: '>=', categories: [CompareOp], label: "'>='" });
export const Lt = createToken({ name: 'Lt', pattern: '<', categories: [CompareOp], label: "'<'" });
export const Gt = createToken({ name: 'Gt', pattern: '>', categories: [CompareOp], label: "'>'" });
export const Bang = createToken({ name: 'Bang', pattern: '!', categories: [NotOp], label: "'!'" });
export const Plus = createToken({ name: 'Plus', pattern: '+', categories: [AdditiveOp], label: "'+'" });
export const Minus = createToken({ name: 'Minus', pattern: '-', categories: [AdditiveOp], label: "'-'" });
export const Star = createToken({ name: 'Star', pattern: '*', categories: [MultiplicativeOp], label: "'*'" });
export const Slash = createToken({ name: 'Slash', pattern: '/', categories: [MultiplicativeOp], label: "'/'" });
export const Percent = createToken({ name: 'Percent', pattern: '%', categories: [MultiplicativeOp], label: "'%'" });
export const LParen = createToken({ name: 'LParen', pattern: '(', label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: ')', label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: '[', label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: ']', label: "']'" });
export const Comma = createToken({ name: 'Comma', pattern: ',', label: "','" });
export const Dot = createToken({ name: 'Dot', pattern: '.', label: "'.'" });

/** `30d`, `12h`, `15m`. */
export const Duration = createToken({ name: 'Duration', pattern: /\d+[dhm]/, label: 'a duration' });
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  label: 'a number',
});
/**
 * Strings are matched leniently (bad escapes, missing closing quote) so the lexer reports one precise
 * error instead of a cascade; `lexer.ts` validates them.
 */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n])*"?|'(?:[^'\\\r\n]|\\[^\r\n])*'?/,
  label: 'a string',
});

export const allTokens: TokenType[] = [
  WhiteSpace,
  // categories (never matched directly)
  AnyName,
  OrOp,
  AndOp,
  NotOp,
  CompareOp,
  AdditiveOp,
  MultiplicativeOp,
  // operators, longest first
  OrSym,
  AndSym,
  Eq,
  NotEq,
  Le,
  Ge,
  Lt,
  Gt,
  Bang,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  StringLiteral,
  Duration,
  NumberLiteral,
  True,
  False,
  Null,
  OrKw,
  AndKw,
  NotKw,
  In,
  Identifier,
];
