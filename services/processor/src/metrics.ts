import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Processor metrics, defined once at module top (one registry per process; tests may make their own). */
export function processorMetrics(registry: Registry) {
  return {
    messages: new Counter({ name: 'tinycdp_processor_messages_total', help: 'Log messages processed', registers: [registry] }),
    applied: new Counter({ name: 'tinycdp_processor_events_applied_total', help: 'Events applied to profiles', registers: [registry] }),
    duplicates: new Counter({ name: 'tinycdp_processor_duplicates_total', help: 'Events skipped as already applied', registers: [registry] }),
    dlq: new Counter({ name: 'tinycdp_processor_dlq_total', help: 'Messages sent to the dead-letter topic', registers: [registry] }),
    changes: new Counter({ name: 'tinycdp_processor_segment_changes_total', help: 'Segment entries and exits emitted', registers: [registry] }),
    conflicts: new Counter({ name: 'tinycdp_processor_cas_conflicts_total', help: 'Compare-and-set retries', registers: [registry] }),
    batchSize: new Histogram({
      name: 'tinycdp_processor_batch_size',
      help: 'Messages per processed chunk',
      buckets: [1, 10, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'tinycdp_processor_batch_seconds',
      help: 'Time to process a chunk end to end',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    lag: new Gauge({ name: 'tinycdp_processor_consumer_lag', help: 'Consumer lag per partition', labelNames: ['partition'], registers: [registry] }),
  };
}
export type ProcessorMetrics = ReturnType<typeof processorMetrics>;
