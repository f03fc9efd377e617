import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '@tinycdp/common';
import type {
  DefinitionSource,
  EventLogReader,
  EventSource,
  ProfileIndex,
  ProfileRepository,
  RecordSink,
  RolloutStore,
  SegmentMembersWriter,
} from './ports';
import { PlanHolder, type DefinitionMaterializer } from './definitions/plan-holder';
import { TimeScheduler } from './pipeline/scheduler';
import { processBatch, type BatchDeps } from './pipeline/process-batch';
import { LiveFences } from './rollout/live-fences';
import { RolloutCoordinator, type RolloutDeps, type RolloutOptions } from './rollout/rollout-coordinator';
import { processorMetrics } from './metrics';

/** Rollout of definition changes to existing profiles (re-evaluation + backfill from the log). */
export interface RolloutWiring {
  readonly store: RolloutStore;
  readonly reader: EventLogReader;
  readonly index: ProfileIndex;
  readonly options?: RolloutOptions;
  /** Test hook (simulated crashes). */
  readonly afterChunk?: RolloutDeps['afterChunk'];
}

export interface ProcessorDeps {
  readonly events: EventSource;
  readonly definitions: DefinitionSource;
  readonly repo: ProfileRepository;
  readonly changes: RecordSink;
  readonly dlq: RecordSink;
  readonly materializer?: DefinitionMaterializer;
  /** Name of the events topic (DLQ headers, deterministic ids for messages without messageId). */
  readonly eventsTopic: string;
  /** Event value bytes → JSON (schema registry wire format); default plain JSON. */
  readonly decodeValue?: BatchDeps['decodeValue'];
  readonly numPartitions: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly scheduleIntervalMs?: number;
  /** Segment membership index (admin's members endpoints), kept from every published change. */
  readonly members?: SegmentMembersWriter;
  /**
   * Without it, plan changes reach profiles only as they get events (or time-driven re-evaluations),
   * and every series applies to every event.
   */
  readonly rollout?: RolloutWiring;
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
    ...(deps.decodeValue ? { decodeValue: deps.decodeValue } : {}),
    ...(deps.members ? { members: deps.members } : {}),
    ...(deps.rollout ? { fences: new LiveFences(deps.rollout.store) } : {}),
  };
  const scheduler = new TimeScheduler(batchDeps, deps.clock, log.child({ component: 'scheduler' }), {
    intervalMs: deps.scheduleIntervalMs ?? 1000,
    batchSize: 500,
  });

  const rollout = deps.rollout
    ? new RolloutCoordinator({
        store: deps.rollout.store,
        reader: deps.rollout.reader,
        index: deps.rollout.index,
        ...(deps.members ? { members: deps.members } : {}),
        update: batchDeps,
        plan: () => plans.plan(),
        topic: deps.eventsTopic,
        ...(deps.decodeValue ? { decodeValue: deps.decodeValue } : {}),
        clock: deps.clock,
        logger: log.child({ component: 'rollout' }),
        ...(deps.rollout.options ? { options: deps.rollout.options } : {}),
        ...(deps.rollout.afterChunk ? { afterChunk: deps.rollout.afterChunk } : {}),
      })
    : null;
  if (rollout) plans.onChange(() => rollout.notify());

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
    rollout,
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
      rollout?.start();
      log.info({ topic: deps.eventsTopic }, 'processor_started');
    },
    async stop() {
      await rollout?.stop();
      await scheduler.stop();
      await deps.events.stop();
      await deps.definitions.stop();
    },
  };
}
export type Processor = ReturnType<typeof createProcessor>;
