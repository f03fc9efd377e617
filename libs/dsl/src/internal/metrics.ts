import type { Expr, MetricNode } from '../ast';
import type { Span } from '../diagnostics';
import { isIdentifierLike } from '../names';
import { quoteString } from './strings';
import type { AggregateMetric, DiagnosticCode, Window, WindowUnit } from '../types';

/** Largest window per unit: 400 days, 31 days of hours, 1 day of minutes. */
export const MAX_WINDOW: Readonly<Record<WindowUnit, number>> = { d: 400, h: 24 * 31, m: 24 * 60 };

const PROPERTY_METRICS = ['sum', 'avg', 'min', 'max', 'distinct_count'] as const;
const METRIC_EXAMPLES = [
  'count_30d',
  'unique_days_14d',
  'last_seen_minutes_ago',
  'first_seen_days_ago',
  'sum',
  'avg',
  'min',
  'max',
  'distinct_count',
  'last',
  'where',
];

export interface MetricProblem {
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly span: Span;
}

export type MetricResolution = { readonly ok: true; readonly metric: AggregateMetric } | { readonly ok: false; readonly problem: MetricProblem };

function windowProblem(n: number, unit: WindowUnit, span: Span): MetricProblem | null {
  if (!Number.isInteger(n) || n < 1) return { code: 'bad_window', message: `window must be at least 1${unit}`, span };
  if (n > MAX_WINDOW[unit]) {
    return { code: 'bad_window', message: `window ${n}${unit} is too long; the longest ${unit} window is ${MAX_WINDOW[unit]}${unit}`, span };
  }
  return null;
}

function fail(code: DiagnosticCode, message: string, span: Span): MetricResolution {
  return { ok: false, problem: { code, message, span } };
}

/** Names a metric could have been meant as, for "did you mean". Keeps the user's window suffix. */
export function metricCandidates(name: string): string[] {
  const m = /_(\d+)([a-z]?)$/.exec(name);
  const out = [...METRIC_EXAMPLES];
  if (m) {
    const n = m[1] ?? '30';
    const u = m[2] || 'd';
    out.push(`count_${n}${u}`, `unique_days_${n}d`);
  }
  return out;
}

/** A property path argument: `properties.amount` or `context.ip`, as a path under the event. */
function propertyPath(e: Expr | undefined): readonly string[] | null {
  if (e?.kind !== 'event_field') return null;
  const root = e.path[0];
  if ((root === 'properties' || root === 'context') && e.path.length >= 2) return e.path;
  return null;
}

function windowArg(e: Expr | undefined, span: Span): { ok: true; window: Window } | { ok: false; problem: MetricProblem } {
  if (e?.kind !== 'duration') {
    return { ok: false, problem: { code: 'bad_arguments', message: 'expected a window such as 30d, 12h or 15m', span: e?.span ?? span } };
  }
  const p = windowProblem(e.n, e.unit, e.span);
  return p ? { ok: false, problem: p } : { ok: true, window: { n: e.n, unit: e.unit } };
}

/** Resolves a metric node (`count_30d`, `sum(properties.amount, 30d)`, ...) to an AggregateMetric. */
export function resolveMetric(node: MetricNode): MetricResolution {
  const { name, args, span } = node;
  if (args === null) {
    const windowed = /^(count|unique_days)_(\d+)([a-z])$/.exec(name);
    if (windowed) {
      const kind = windowed[1] as 'count' | 'unique_days';
      const digits = windowed[2] ?? '';
      const unit = windowed[3] ?? '';
      if (unit !== 'd' && unit !== 'h' && unit !== 'm') {
        return fail('bad_window', `unknown window unit '${unit}' in '${name}': use d, h or m`, span);
      }
      if (kind === 'unique_days' && unit !== 'd') return fail('bad_window', `unique_days needs a day window, e.g. unique_days_14d`, span);
      const n = digits.length > 9 ? Infinity : Number(digits);
      const p = windowProblem(n, unit, span);
      if (p) return { ok: false, problem: p };
      return { ok: true, metric: { kind, window: { n, unit } } };
    }
    if (name === 'last_seen_minutes_ago' || name === 'first_seen_days_ago') return { ok: true, metric: { kind: name } };
    if ((PROPERTY_METRICS as readonly string[]).includes(name)) {
      return fail('bad_arguments', `${name} needs arguments, e.g. ${name}(properties.amount, 30d)`, span);
    }
    if (name === 'last') return fail('bad_arguments', 'last needs a property, e.g. last(properties.amount)', span);
    if (name === 'where') return fail('bad_arguments', 'where needs a condition, e.g. where(properties.amount > 100)', span);
    return fail('unknown_metric', `unknown metric '${name}'`, span);
  }
  if ((PROPERTY_METRICS as readonly string[]).includes(name)) {
    const kind = name as (typeof PROPERTY_METRICS)[number];
    if (args.length !== 2) return fail('bad_arguments', `${name} takes 2 arguments, e.g. ${name}(properties.amount, 30d); got ${args.length}`, span);
    const property = propertyPath(args[0]);
    if (!property) return fail('bad_arguments', `${name}'s first argument must be an event property, e.g. properties.amount`, args[0]?.span ?? span);
    const w = windowArg(args[1], span);
    if (!w.ok) return { ok: false, problem: w.problem };
    return { ok: true, metric: { kind, property, window: w.window } };
  }
  if (name === 'last') {
    if (args.length !== 1) return fail('bad_arguments', `last takes 1 argument, e.g. last(properties.amount); got ${args.length}`, span);
    const property = propertyPath(args[0]);
    if (!property) return fail('bad_arguments', "last's argument must be an event property, e.g. properties.amount", args[0]?.span ?? span);
    return { ok: true, metric: { kind: 'last', property } };
  }
  if (/^(count|unique_days)_/.test(name) || name === 'last_seen_minutes_ago' || name === 'first_seen_days_ago') {
    return fail('bad_arguments', `'${name}' takes no arguments`, span);
  }
  return fail('unknown_metric', `unknown metric '${name}'`, span);
}

export function isTimeDependent(m: AggregateMetric): boolean {
  return m.kind !== 'last';
}

export function printPath(path: readonly string[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as string;
    out += isIdentifierLike(seg) ? `${i === 0 ? '' : '.'}${seg}` : `[${quoteString(seg)}]`;
  }
  return out;
}

export function printWindow(w: Window): string {
  return `${w.n}${w.unit}`;
}

/** Canonical text of a metric: `count_30d`, `sum(properties.amount, 30d)`, `last(properties.x)`. */
export function printMetric(m: AggregateMetric): string {
  switch (m.kind) {
    case 'count':
      return `count_${printWindow(m.window)}`;
    case 'unique_days':
      return `unique_days_${printWindow(m.window)}`;
    case 'last_seen_minutes_ago':
    case 'first_seen_days_ago':
      return m.kind;
    case 'last':
      return `last(${printPath(m.property)})`;
    default:
      return `${m.kind}(${printPath(m.property)}, ${printWindow(m.window)})`;
  }
}

/** `events.purchase` / `events["Order Completed"]`. */
export function printEvent(event: string): string {
  return isIdentifierLike(event) ? `events.${event}` : `events[${quoteString(event)}]`;
}

/** Canonical id of (event, filter, metric): the canonical source of the aggregate. */
export function aggregateId(event: string | null, filterId: string | null, metric: AggregateMetric): string {
  if (event === null) return printMetric(metric);
  return `${printEvent(event)}${filterId === null ? '' : `.where(${filterId})`}.${printMetric(metric)}`;
}
