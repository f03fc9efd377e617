import { CstParser, type CstNode, type IOrAlt, type IToken } from 'chevrotain';
import {
  AdditiveOp,
  allTokens,
  AndOp,
  AnyName,
  Comma,
  CompareOp,
  Dot,
  Duration,
  False,
  Identifier,
  In,
  LBracket,
  LParen,
  Minus,
  MultiplicativeOp,
  NotKw,
  NotOp,
  Null,
  NumberLiteral,
  OrOp,
  RBracket,
  RParen,
  StringLiteral,
  True,
} from './tokens';
import { errorMessageProvider } from './diagnostics';

/**
 * Grammar, lowest precedence first:
 *   expression     := orExpr
 *   orExpr         := andExpr (('||' | 'or') andExpr)*
 *   andExpr        := notExpr (('&&' | 'and') notExpr)*
 *   notExpr        := ('!' | 'not') notExpr | comparison
 *   comparison     := inExpr (CompareOp inExpr)?            (non-associative)
 *   inExpr         := additive (('in' | 'not' 'in') additive)?  (non-associative)
 *   additive       := multiplicative (('+' | '-') multiplicative)*
 *   multiplicative := unary (('*' | '/' | '%') unary)*
 *   unary          := '-' unary | postfix
 *   postfix        := primary suffix*
 *   suffix         := '.' name | '[' expression ']' | '(' args? ')'
 *   primary        := number | string | duration | true | false | null | name | list | '(' expression ')'
 * OR alternatives are built once (fields), not per call: cheaper, and tsx's keepNames would
 * otherwise wrap every `ALT` arrow on every invocation.
 * The grammar is generic on purpose (member access, indexing, calls on anything): `visitor.ts`
 * gives `events.x.count_30d`, `profile.a`, `f(x)` their meaning and reports misuse precisely.
 */
export class DslParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: 'full', errorMessageProvider });
    this.performSelfAnalysis();
  }

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(OrOp, { LABEL: 'ops' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(AndOp, { LABEL: 'ops' });
      this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
    });
  });

  notExpr = this.RULE('notExpr', () => {
    this.OR(this.notExprAlts);
  });
  private readonly notExprAlts: IOrAlt<unknown>[] = [
    {
      ALT: () => {
        this.CONSUME(NotOp, { LABEL: 'op' });
        this.SUBRULE(this.notExpr, { LABEL: 'operand' });
      },
    },
    { ALT: () => this.SUBRULE(this.comparison, { LABEL: 'comparison' }) },
  ];

  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.inExpr, { LABEL: 'operands' });
    this.OPTION(() => {
      this.CONSUME(CompareOp, { LABEL: 'op' });
      this.SUBRULE2(this.inExpr, { LABEL: 'operands' });
    });
  });

  inExpr = this.RULE('inExpr', () => {
    this.SUBRULE(this.additive, { LABEL: 'operands' });
    this.OPTION(() => {
      this.OPTION2(() => this.CONSUME(NotKw, { LABEL: 'not' }));
      this.CONSUME(In, { LABEL: 'in' });
      this.SUBRULE2(this.additive, { LABEL: 'operands' });
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(AdditiveOp, { LABEL: 'ops' });
      this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
    });
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(MultiplicativeOp, { LABEL: 'ops' });
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  unary = this.RULE('unary', () => {
    this.OR(this.unaryAlts);
  });
  private readonly unaryAlts: IOrAlt<unknown>[] = [
    {
      ALT: () => {
        this.CONSUME(Minus, { LABEL: 'minus' });
        this.SUBRULE(this.unary, { LABEL: 'operand' });
      },
    },
    { ALT: () => this.SUBRULE(this.postfix, { LABEL: 'postfix' }) },
  ];

  postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary, { LABEL: 'head' });
    this.MANY(() => this.SUBRULE(this.suffix, { LABEL: 'suffixes' }));
  });

  suffix = this.RULE('suffix', () => {
    this.OR(this.suffixAlts);
  });
  private readonly suffixAlts: IOrAlt<unknown>[] = [
    {
      ALT: () => {
        this.CONSUME(Dot, { LABEL: 'dot' });
        this.CONSUME(AnyName, { LABEL: 'member' });
      },
    },
    {
      ALT: () => {
        this.CONSUME(LBracket, { LABEL: 'open' });
        this.SUBRULE(this.expression, { LABEL: 'index' });
        this.CONSUME(RBracket);
      },
    },
    {
      ALT: () => {
        this.CONSUME(LParen, { LABEL: 'call' });
        this.OPTION(() => this.SUBRULE(this.args, { LABEL: 'args' }));
        this.CONSUME(RParen);
      },
    },
  ];

  args = this.RULE('args', () => {
    this.SUBRULE(this.expression, { LABEL: 'items' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expression, { LABEL: 'items' });
    });
  });

  primary = this.RULE('primary', () => {
    this.OR(this.primaryAlts);
  });
  private readonly primaryAlts: IOrAlt<unknown>[] = [
    { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(Duration, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(True, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(False, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(Null, { LABEL: 'literal' }) },
    { ALT: () => this.CONSUME(Identifier, { LABEL: 'name' }) },
    { ALT: () => this.SUBRULE(this.list, { LABEL: 'list' }) },
    {
      ALT: () => {
        this.CONSUME(LParen);
        this.SUBRULE(this.expression, { LABEL: 'inner' });
        this.CONSUME(RParen);
      },
    },
  ];

  list = this.RULE('list', () => {
    this.CONSUME(LBracket, { LABEL: 'open' });
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: 'items' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.expression, { LABEL: 'items' });
      });
    });
    this.CONSUME(RBracket, { LABEL: 'close' });
  });
}

/** The one parser instance, reused for every parse (chevrotain parsers are expensive to build). */
export const dslParser = new DslParser();

/** Parses a token stream into a CST. Errors are left in `dslParser.errors` (copied out here). */
export function parseTokens(tokens: IToken[]): { cst: CstNode; errors: typeof dslParser.errors } {
  dslParser.input = tokens;
  const cst = dslParser.expression();
  return { cst, errors: dslParser.errors };
}
