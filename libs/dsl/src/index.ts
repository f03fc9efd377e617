/**
 * @tinycdp/dsl — the expression language for traits, segment rules and flag rules.
 * Pure: no I/O, no clock, no eval. Nothing here throws on user input; problems are Diagnostics.
 */
export type {
  Value,
  ExprType,
  WindowUnit,
  Window,
  AggregateMetric,
  EventView,
  EventFilter,
  AggregateRef,
  Requirements,
  EvalEnv,
  CompiledExpression,
  DiagnosticCode,
  Diagnostic,
  ExpressionKind,
  CheckContext,
  CompileResult,
} from './types';
export type {
  Expr,
  Span,
  NumberLit,
  StringLit,
  BooleanLit,
  NullLit,
  DurationLit,
  ListLit,
  UnaryOp,
  UnaryExpr,
  BinaryOp,
  BinaryExpr,
  CallExpr,
  NameRef,
  TraitRef,
  SegmentRef,
  ProfileRef,
  ContextRef,
  EventFieldRef,
  MetricNode,
  AggregateExpr,
} from './ast';
export type { ParseResult } from './parse';
export type { CheckResult } from './check';
export type { CompileAstOptions } from './compile';
export type { DefinitionDeps, DefinitionNode, DefinitionCycle } from './cycles';

export { parse, MAX_SOURCE_LENGTH, MAX_DEPTH } from './parse';
export { check } from './check';
export { compile, compileAst, requirementsOf } from './compile';
export { print } from './print';
export { renderDiagnostic } from './diagnostics';
export { findCycles } from './cycles';
export { RESERVED_NAMES, FUNCTION_NAMES, isReservedName } from './names';
export { MAX_WINDOW } from './internal/metrics';
