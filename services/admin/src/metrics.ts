import { Counter, Gauge, Registry } from 'prom-client';

/** Admin's metrics live in their own registry; `createAdminApp` serves it (merge it in all-in-one mode). */
export const adminRegistry = new Registry();

export const definitionWrites = new Counter({
  name: 'tinycdp_admin_definition_writes_total',
  help: 'Committed definition changes',
  labelNames: ['kind', 'op'] as const,
  registers: [adminRegistry],
});

export const outboxPublished = new Counter({
  name: 'tinycdp_admin_outbox_published_total',
  help: 'Outbox records published to the definitions topic',
  registers: [adminRegistry],
});

export const outboxPublishErrors = new Counter({
  name: 'tinycdp_admin_outbox_publish_errors_total',
  help: 'Failed outbox relay rounds (retried)',
  registers: [adminRegistry],
});

export const outboxPending = new Gauge({
  name: 'tinycdp_admin_outbox_pending',
  help: 'Unpublished outbox records seen by the last relay round (capped at the batch size)',
  registers: [adminRegistry],
});
