import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '@tinycdp/common';
import type { DefinitionSource, EventSource, ProfileRepository, RecordSink } from './ports';
import { PlanHolder, type DefinitionMaterializer } from './definitions/plan-holder';
import { TimeScheduler } from './pipeline/scheduler';
import { processBatch, type BatchDeps } from './pipeline/process-batch';
import { processorMetrics } from './metrics';

export interface ProcessorDeps {
  readonly events: EventSource;
  readonly definitions: DefinitionSource;
  readonly repo: ProfileRepository;
  readonly changes: RecordSink;
  readonly dlq: RecordSink;
  readonly materializer?: DefinitionMaterializer;
  /** Name of the events topic (DLQ headers, deterministic ids for messages without messageId). */
  readonly eventsTopic: string;
  readonly numPartitions: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly scheduleIntervalMs?: number;
}

/**
 * Builds the processor from its ports. `start()` waits until every existing definition is loaded
 * before consuming events, so no event is evaluated against a partial plan.
 */
export function createProcessor(deps: ProcessorDeps) {
  const log = deps.logger;
  const metrics = processorMetrics(deps.registry);
  const plans = new PlanHolder(log.child({ component: 'definitions' }), deps.materializer);
  const batchDeps: BatchDeps = {
    repo: deps.repo,
    changes: deps.changes,
    dlq: deps.dlq,
    plan: () => plans.plan(),
    numPartitions: deps.numPartitions,
    topic: deps.eventsTopic,
    logger: log,
  };
  const scheduler = new TimeScheduler(batchDeps, deps.clock, log.child({ component: 'scheduler' }), {
    intervalMs: deps.scheduleIntervalMs ?? 1000,
    batchSize: 500,
  });

  async function handle(messages: readonly import('./ports').LogMessage[]) {
    const t0 = performance.now();
    const r = await processBatch(batchDeps, messages, deps.clock.now());
    metrics.messages.inc(r.messages);
    metrics.applied.inc(r.applied);
    metrics.duplicates.inc(r.duplicates);
    metrics.dlq.inc(r.dlq);
    metrics.changes.inc(r.changes);
    metrics.conflicts.inc(r.conflicts);
    metrics.batchSize.observe(r.messages);
    metrics.batchSeconds.observe((performance.now() - t0) / 1000);
  }

  return {
    plans,
    scheduler,
    /** The pipeline's dependencies (embedded reconcile and rebuild reuse them). */
    updateDeps: batchDeps,
    async lag() {
      const lag = await deps.events.lag();
      for (const l of lag) metrics.lag.set({ partition: String(l.partition) }, l.lag);
      return lag;
    },
    async start() {
      await deps.definitions.start((records) => plans.apply(records));
      await deps.events.start(handle, (p) => scheduler.setPartitions(p));
      scheduler.start();
      log.info({ topic: deps.eventsTopic }, 'processor_started');
    },
    async stop() {
      await scheduler.stop();
      await deps.events.stop();
      await deps.definitions.stop();
    },
  };
}
export type Processor = ReturnType<typeof createProcessor>;
