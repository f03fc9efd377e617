import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DecisionReason } from '@tinycdp/engine';

export const ROUTES = ['decide_get', 'decide_post', 'ofrep_flag', 'ofrep_bulk'] as const;
export type RouteName = (typeof ROUTES)[number];
const REASONS: readonly DecisionReason[] = ['TARGETING_MATCH', 'SPLIT', 'DEFAULT', 'DISABLED', 'ERROR'];
export type ErrorKind = 'redis' | 'auth' | 'internal' | 'definitions';

/**
 * Decide metrics, one set per registry (tests build several apps in one process). Label children are
 * bound once here so the hot path does no label hashing.
 */
export function decideMetrics(registry: Registry) {
  const duration = new Histogram({
    name: 'tinycdp_decide_request_duration_seconds',
    help: 'Decide request latency, from request to response written',
    labelNames: ['route', 'status'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'tinycdp_decide_decisions_total',
    help: 'Flag decisions answered, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'tinycdp_decide_errors_total',
    help: 'Failures while deciding (redis = profile read failed or timed out; the default was answered)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'tinycdp_decide_definition_reloads_total',
    help: 'Definition reloads from Redis, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const flags = new Gauge({ name: 'tinycdp_decide_flags', help: 'Flags in the in-memory plan', registers: [registry] });
  const byReason = Object.fromEntries(REASONS.map((r) => [r, decisions.labels(r)])) as Record<
    DecisionReason,
    ReturnType<typeof decisions.labels>
  >;
  const children = new Map<string, ReturnType<typeof duration.labels>>();
  return {
    duration,
    /** Observes one request; `status` is bucketed to its class to keep cardinality low. */
    observe(route: RouteName, status: number, seconds: number): void {
      const id = `${route}|${Math.floor(status / 100)}`;
      let child = children.get(id);
      if (child === undefined) {
        child = duration.labels(route, `${Math.floor(status / 100)}xx`);
        children.set(id, child);
      }
      child.observe(seconds);
    },
    decision(reason: DecisionReason): void {
      byReason[reason].inc();
    },
    error(kind: ErrorKind): void {
      errors.labels(kind).inc();
    },
    reloads,
    flags,
  };
}
export type DecideMetrics = ReturnType<typeof decideMetrics>;
