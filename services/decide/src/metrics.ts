import { Counter, Gauge, type Registry } from 'prom-client';
import type { DecisionReason } from '@tinycdp/engine';

export const ROUTES = ['decide_get', 'decide_post', 'ofrep_flag', 'ofrep_bulk'] as const;
export type RouteName = (typeof ROUTES)[number];
const REASONS: readonly DecisionReason[] = ['TARGETING_MATCH', 'SPLIT', 'DEFAULT', 'DISABLED', 'ERROR'];
export type ErrorKind = 'redis' | 'auth' | 'internal' | 'definitions';

interface Series {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the hot path: `observe` is an array increment on a series bound once
 * (prom-client's Histogram hashes the label set on every observation, measurable at decide's rates).
 * Exposed through the registry like any prom-client metric (`get()` in prom-client's shape).
 */
export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** A series for one label set; observe through the returned function. */
  bind(labels: Record<string, string>): (seconds: number) => void {
    const s: Series = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
    this.series.push(s);
    const bounds = this.buckets;
    return (v) => {
      let i = 0;
      while (i < bounds.length && v > bounds[i]!) i++;
      s.counts[i]!++;
      s.sum += v;
      s.count++;
    };
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series) {
      let acc = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        acc += s.counts[i]!;
        const le = i < this.buckets.length ? this.buckets[i]! : '+Inf';
        values.push({ labels: { le, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const s of this.series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

/**
 * Decide metrics, one set per registry (tests build several apps in one process). The per-request
 * ones (latency, decisions) count in plain numbers bound once here; the registry reads them at scrape.
 */
export function decideMetrics(registry: Registry) {
  const duration = new HotHistogram(
    'tinycdp_decide_request_duration_seconds',
    'Decide request latency, from request to response written',
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registry,
  );
  const decided: Record<DecisionReason, number> = { TARGETING_MATCH: 0, SPLIT: 0, DEFAULT: 0, DISABLED: 0, ERROR: 0 };
  new Counter({
    name: 'tinycdp_decide_decisions_total',
    help: 'Flag decisions answered, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of REASONS) this.labels(r).inc(decided[r]);
    },
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
  // Per route, per status class (index 0-5): bound on first use, no key string built per request.
  const observers = new Map<RouteName, ((seconds: number) => void)[]>();
  return {
    duration,
    /** Observes one request; `status` is bucketed to its class to keep cardinality low. */
    observe(route: RouteName, status: number, seconds: number): void {
      const cls = Math.min(5, Math.max(0, Math.floor(status / 100)));
      let byClass = observers.get(route);
      if (byClass === undefined) observers.set(route, (byClass = []));
      (byClass[cls] ??= duration.bind({ route, status: `${cls}xx` }))(seconds);
    },
    decision(reason: DecisionReason): void {
      decided[reason]++;
    },
    error(kind: ErrorKind): void {
      errors.labels(kind).inc();
    },
    reloads,
    flags,
  };
}
export type DecideMetrics = ReturnType<typeof decideMetrics>;
