export { createIngestApp } from './app';
export type { IngestDeps } from './app';
export type { EventSink, SinkRecord } from './ports';
export type { IngestLimits, RejectedItem } from './http/tracking-routes';
export { KafkaSink } from './adapters/kafka-sink';
export { MemorySink } from './adapters/memory-sink';
