import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { check, compile, compileAst, parse, print, isReservedName } from './index';
import { FUNCTION_NAMES, TOP_LEVEL_METRICS } from './names';
import { stripSpans, seedContext } from './internal/test-utils';
import type { BinaryOp, Expr } from './ast';
import type { EvalEnv, Value } from './types';

const SPAN = { offset: 0, length: 1, line: 1, column: 1 };
const NUM_RUNS = 300;

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
const traitName = identifier.filter((s) => !isReservedName(s) && s !== 'event' && s !== 'properties');
const anyKey = fc.string({ unit: 'binary', maxLength: 8 });
const pathSeg = fc.oneof(identifier, anyKey);
const path = fc.array(pathSeg, { minLength: 1, maxLength: 3 });
const BINARY_OPS: BinaryOp[] = ['||', '&&', '==', '!=', '<', '<=', '>', '>=', 'in', 'not in', '+', '-', '*', '/', '%'];
const metricName = fc.oneof(
  fc.constantFrom('count_30d', 'count_12h', 'unique_days_14d', 'last_seen_minutes_ago', 'first_seen_days_ago', 'count_0d', 'nope'),
  identifier.filter((s) => s !== 'where'),
);

function leaves(scope: 'profile' | 'event'): fc.Arbitrary<Expr>[] {
  const common: fc.Arbitrary<Expr>[] = [
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ kind: 'number', value, span: SPAN }) as Expr),
    fc.integer({ min: -1000, max: 1000 }).map((value) => ({ kind: 'number', value, span: SPAN }) as Expr),
    fc.string({ unit: 'binary', maxLength: 10 }).map((value) => ({ kind: 'string', value, span: SPAN }) as Expr),
    fc.boolean().map((value) => ({ kind: 'boolean', value, span: SPAN }) as Expr),
    fc.constant({ kind: 'null', span: SPAN } as Expr),
    fc
      .record({ n: fc.integer({ min: 0, max: 999_999_999 }), unit: fc.constantFrom('d' as const, 'h' as const, 'm' as const) })
      .map(({ n, unit }) => ({ kind: 'duration', n, unit, span: SPAN }) as Expr),
  ];
  if (scope === 'event') {
    return [
      ...common,
      fc.constant({ kind: 'event_field', path: ['event'], span: SPAN } as Expr),
      fc.tuple(fc.constantFrom('properties', 'context'), path).map(([root, p]) => ({ kind: 'event_field', path: [root, ...p], span: SPAN }) as Expr),
    ];
  }
  return [
    ...common,
    traitName.map((name) => ({ kind: 'name', name, span: SPAN }) as Expr),
    anyKey.map((key) => ({ kind: 'trait', key, span: SPAN }) as Expr),
    anyKey.map((key) => ({ kind: 'segment', key, span: SPAN }) as Expr),
    path.map((p) => ({ kind: 'profile', path: p, span: SPAN }) as Expr),
    path.map((p) => ({ kind: 'context', path: p, span: SPAN }) as Expr),
    fc.constantFrom(...TOP_LEVEL_METRICS).map((name) => ({ kind: 'aggregate', event: null, filter: null, metric: { name, args: null, span: SPAN }, span: SPAN }) as Expr),
  ];
}

function exprArb(scope: 'profile' | 'event', depth: number): fc.Arbitrary<Expr> {
  const leaf = fc.oneof(...leaves(scope));
  if (depth <= 0) return leaf;
  const sub = exprArb(scope, depth - 1);
  const composite: fc.Arbitrary<Expr>[] = [
    fc.tuple(fc.constantFrom('!' as const, '-' as const), sub).map(([op, operand]) => ({ kind: 'unary', op, operand, span: SPAN }) as Expr),
    fc.tuple(fc.constantFrom(...BINARY_OPS), sub, sub).map(([op, left, right]) => ({ kind: 'binary', op, left, right, span: SPAN }) as Expr),
    fc.array(sub, { maxLength: 3 }).map((items) => ({ kind: 'list', items, span: SPAN }) as Expr),
    fc
      .tuple(fc.constantFrom(...FUNCTION_NAMES, 'nope_fn'), fc.array(sub, { maxLength: 3 }))
      .map(([name, args]) => ({ kind: 'call', name, args, nameSpan: SPAN, span: SPAN }) as Expr),
  ];
  if (scope === 'profile') {
    const eventSub = exprArb('event', Math.min(depth - 1, 2));
    composite.push(
      fc
        .record({
          event: anyKey,
          filter: fc.option(eventSub, { nil: null }),
          name: metricName,
          args: fc.option(fc.array(eventSub, { maxLength: 2 }), { nil: null }),
        })
        .map(({ event, filter, name, args }) => ({ kind: 'aggregate', event, filter, metric: { name, args, span: SPAN }, span: SPAN }) as Expr),
    );
  }
  return fc.oneof({ depthSize: 'small' }, leaf, ...composite);
}

const astArb = exprArb('profile', 4);

describe('property: print/parse round trip', () => {
  it('parse(print(ast)) gives back the same AST (spans aside)', () => {
    fc.assert(
      fc.property(astArb, (ast) => {
        const src = print(ast);
        const r = parse(src);
        if (!r.ok) throw new Error(`did not re-parse: ${src}\n${r.diagnostics.map((d) => d.message).join('\n')}`);
        expect(stripSpans(r.ast)).toEqual(stripSpans(ast));
        expect(print(r.ast)).toBe(src);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

const TOKENS = [
  'events', '.', 'purchase', 'count_30d', 'where', '(', ')', '[', ']', '"x"', "'y'", '>=', '<', '==', '!=', '1', '-', '2.5',
  '&&', '||', '!', 'not', 'in', 'and', 'or', ',', 'sum', 'properties', 'amount', '30d', ' ', 'profile', 'trait', 'segment',
  'context', 'null', 'true', 'lower', 'contains', 'last_seen_minutes_ago', 'frequent_buyer', '+', '*', '/', '%', '@', '"', '\\',
];

describe('property: never throws on arbitrary input', () => {
  const ctx = seedContext('segment', 'vip_users');
  const noThrow = (src: string) => {
    const p = parse(src);
    if (p.ok) check(p.ast, ctx);
    const c = compile(src, ctx);
    if (!c.ok) {
      expect(c.diagnostics.length).toBeGreaterThan(0);
      for (const d of c.diagnostics) {
        expect(d.length).toBeGreaterThanOrEqual(1);
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.column).toBeGreaterThanOrEqual(1);
      }
    }
  };
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), noThrow), { numRuns: NUM_RUNS });
  });
  it('token soup', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((ts) => ts.join('')), noThrow),
      { numRuns: NUM_RUNS * 3 },
    );
  });
  it('mutated valid sources', () => {
    fc.assert(
      fc.property(astArb, fc.nat(), fc.string({ maxLength: 3 }), (ast, at, insert) => {
        const src = print(ast);
        const i = at % (src.length + 1);
        noThrow(src.slice(0, i) + insert + src.slice(i + 1));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

const valueArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.string({ maxLength: 4 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

function randomEnv(values: unknown[], throwEvery: number): EvalEnv {
  let i = 0;
  const next = (): Value => {
    i++;
    if (throwEvery > 0 && i % throwEvery === 0) throw new Error('env failure');
    return values[i % Math.max(1, values.length)] as Value;
  };
  return { aggregate: next, profile: next, trait: next, segment: next, context: next };
}

describe('property: evaluation is total', () => {
  it('random ASTs over random envs never throw and return a Value', () => {
    fc.assert(
      fc.property(astArb, fc.array(valueArb, { maxLength: 6 }), fc.integer({ min: 0, max: 5 }), (ast, values, throwEvery) => {
        const compiled = compileAst(ast);
        const v = compiled.evaluate(randomEnv(values, throwEvery));
        expect(v).not.toBeUndefined();
        if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
        for (const ref of compiled.requirements.aggregates) {
          if (!ref.filter) continue;
          for (const ev of values) expect(typeof ref.filter.test(ev as never)).toBe('boolean');
          const r = ref.filter.test({ event: 'x', properties: values[0] as never, context: values[1] as never });
          expect(typeof r).toBe('boolean');
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
