import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { MemoryProfileRepository } from '@tinycdp/embedded';
import {
  EpochGuardedRepository,
  EpochGuardedRolloutStore,
  EpochGuardedSegmentMembers,
  createProcessor,
  foldPublished,
  reconcileWithPublished,
  type Processor,
  type RecordSink,
} from '@tinycdp/processor';
import type { LogBackend, StateBackend } from './backends';
import type { SwappableRepository } from './swappable-repository';

interface Running {
  readonly processor: Processor;
  readonly registry: Registry;
  readonly group: string;
  readonly gate: ReturnType<typeof replayGate>;
}

/** Holds segment changes back while state is rebuilt from the log (they were published once already). */
function replayGate(sink: RecordSink, closed: boolean) {
  let open = !closed;
  return {
    sink: {
      async send(records: Parameters<RecordSink['send']>[0]) {
        if (open) await sink.send(records);
      },
    } satisfies RecordSink,
    open() {
      open = true;
    },
  };
}

/**
 * Runs the processor of the all-in-one process. With Redis state it is simply the processor. With
 * in-memory state, state is derived from the log: at start-up it is rebuilt by replaying the whole log,
 * and `rebuild()` (the `tinycdp rebuild` command) builds a fresh state beside the live one with a second
 * processor and swaps it in when it has caught up; subscribers then get exactly the differences
 * (reconcileWithPublished). Definitions that need history the state did not keep are backfilled from
 * the log by the processor's rollout, as with Redis.
 */
export class ProcessorRunner {
  private live: Running | null = null;
  private rebuilding: Promise<void> | null = null;
  private rebuildAgain = false;
  private generation = 0;

  constructor(
    private readonly log: LogBackend,
    private readonly state: StateBackend & { repo: SwappableRepository | StateBackend['repo'] },
    private readonly group: string,
    private readonly logger: Logger,
  ) {}

  get processor(): Processor {
    return this.live!.processor;
  }

  get registry(): Registry {
    return this.live!.registry;
  }

  async start(): Promise<void> {
    const memory = this.state.kind === 'memory';
    if (memory) await this.log.resetGroup?.(this.group);
    // Redis state: a group that never committed replays the whole log, so it may create the epoch
    // marker; one that did while the marker is missing means Redis lost the state → pause (guarded writes).
    await this.state.epoch?.ensure(async () => !(await this.log.hasCommitted(this.group)));
    const r = this.build(this.group, this.state.repo, memory);
    await r.processor.start();
    if (memory) await this.catchUpAndReconcile(r);
    this.live = r;
  }

  /**
   * Rebuilds in-memory state from the log and switches over atomically.
   * @throws Error with Redis state: that rebuild needs this process's processor stopped (`tinycdp rebuild`).
   */
  rebuild(): Promise<void> {
    if (this.state.kind !== 'memory') {
      return Promise.reject(
        new Error('this server keeps its state in Redis: stop it, then run `tinycdp rebuild` with KAFKA_BROKERS and REDIS_URL set'),
      );
    }
    if (this.rebuilding) {
      this.rebuildAgain = true;
      return this.rebuilding;
    }
    this.rebuilding = (async () => {
      do {
        this.rebuildAgain = false;
        await this.rebuildOnce();
      } while (this.rebuildAgain);
    })().finally(() => (this.rebuilding = null));
    return this.rebuilding;
  }

  async stop(): Promise<void> {
    await this.rebuilding?.catch(() => undefined);
    await this.live?.processor.stop();
  }

  private build(group: string, repo: StateBackend['repo'], gated: boolean): Running {
    const registry = new Registry();
    const gate = replayGate(this.log.changes, gated);
    const epoch = this.state.epoch;
    const processor = createProcessor({
      events: this.log.events(group, this.logger.child({ component: 'consumer', group })),
      definitions: this.log.definitions(),
      repo: epoch ? new EpochGuardedRepository(repo, epoch) : repo,
      changes: gate.sink,
      dlq: this.log.dlq,
      materializer: this.state.definitions,
      eventsTopic: this.log.topics.events,
      numPartitions: this.log.numPartitions,
      clock: systemClock,
      logger: this.logger.child({ service: 'processor' }),
      registry,
      members: epoch ? new EpochGuardedSegmentMembers(this.state.members, epoch) : this.state.members,
      rollout: {
        store: epoch ? new EpochGuardedRolloutStore(this.state.rollout, epoch) : this.state.rollout,
        reader: this.log.eventReader(group, this.logger.child({ component: 'backfill' })),
        index: repo,
      },
    });
    return { processor, registry, group, gate };
  }

  private async rebuildOnce() {
    const t0 = Date.now();
    const group = `${this.group}.rebuild.${Date.now()}.${++this.generation}`;
    const fresh = new MemoryProfileRepository(systemClock);
    const next = this.build(group, fresh, true);
    await next.processor.start();
    await this.waitCaughtUp(next);
    const old = this.live!;
    await old.processor.stop();
    const holder = this.state.repo as SwappableRepository;
    holder.swap(fresh);
    await this.reconcile(next);
    this.live = next;
    if (old.group !== this.group) await this.log.resetGroup?.(old.group);
    this.logger.info({ ms: Date.now() - t0, group }, 'state_rebuilt_and_switched');
  }

  private async waitCaughtUp(r: Running) {
    const targets = new Map((await r.processor.lag()).map((l) => [l.partition, Number(l.high)]));
    for (;;) {
      const lag = await r.processor.lag();
      if (lag.every((l) => Number(l.committed) >= (targets.get(l.partition) ?? 0))) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  private async catchUpAndReconcile(r: Running) {
    const t0 = Date.now();
    await this.waitCaughtUp(r);
    const n = await this.reconcile(r);
    this.logger.info({ ...n, ms: Date.now() - t0 }, 'state_rebuilt_from_log');
  }

  /** Opens the gate and publishes what subscribers have not been told yet. */
  private async reconcile(r: Running) {
    const published = foldPublished((await this.log.readChanges?.()) ?? []);
    const ids: string[] = [];
    let cursor = '0';
    do {
      const page = await this.state.repo.listProfileIds(cursor, 1000);
      ids.push(...page.ids);
      cursor = page.cursor;
    } while (cursor !== '0');
    r.gate.open();
    const s = await reconcileWithPublished(r.processor.updateDeps, published, ids, systemClock.now());
    return { profiles: ids.length, changes: s.changes };
  }
}
