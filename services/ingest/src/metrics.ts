import { Counter, Histogram } from 'prom-client';

// Defined once at module top, in the default registry (served by GET /metrics).
export const eventsCounter = new Counter({
  name: 'tinycdp_ingest_events_total',
  help: 'Events received by ingest, by type and outcome (accepted = appended to the log; rejected = invalid).',
  labelNames: ['type', 'outcome'] as const,
});

export const requestsCounter = new Counter({
  name: 'tinycdp_ingest_requests_total',
  help: 'HTTP requests to the tracking API, by route and status code.',
  labelNames: ['route', 'status'] as const,
});

export const appendDuration = new Histogram({
  name: 'tinycdp_ingest_append_duration_seconds',
  help: 'Time for the event log to acknowledge one request worth of events.',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
