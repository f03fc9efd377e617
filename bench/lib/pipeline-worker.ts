/**
 * One processor instance of the pipeline scale-out measurement (bench/pipeline.ts), in a process of its
 * own: the real processor as bench/lib/processor-harness.ts starts it, in a consumer group shared with
 * the other instances. It starts paused (its Kafka thread fetches nothing, on every group join) until
 * the parent says `go`, so every instance of the group holds its share of the partitions before any
 * event is handled (otherwise the first instance to join takes them all and the rest wait for a rebalance).
 *
 * Protocol (bench/lib/child.ts forkWorker): argv[2] = PipelineWorkerSetup JSON; `{ready: true}` once the
 * warm-up is done and the consumer runs (paused); `{cmd: 'assigned'}` → the partitions it holds; `{cmd: 'go'}` resumes the topic;
 * `{cmd: 'progress'}` → PipelineWorkerProgress; `{cmd: 'exit'}` stops the processor and exits.
 */
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { startProcessor } from './processor-harness';
import { serveParent, workerMain } from './child';
import { benchKafka, deleteRedisPrefix, isolationAt } from './stack';

export interface PipelineWorkerSetup {
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly redisPrefix: string;
  readonly numPartitions: number;
  /**
   * Topics (same layout, definitions published) this instance first processes alone, untimed, in a group
   * of its own: a fresh process would otherwise be measured while its code is still being compiled.
   */
  readonly warmup: { readonly topicPrefix: string; readonly events: number };
}

export interface PipelineWorkerProgress {
  /** Events whose state and changes are durable. */
  readonly handled: number;
  /** Epoch ms of the last batch finished (0 = none yet). */
  readonly lastAt: number;
  /** CPU seconds (user + system) of this process since `go`. */
  readonly cpuS: number;
  /** Peak resident set size of this process so far (warm-up run included), MB. */
  readonly maxRssMb: number;
}

export type PipelineWorkerRequest = { cmd: 'assigned' | 'go' | 'progress' };

async function warmUp(setup: PipelineWorkerSetup): Promise<void> {
  const groupId = `${setup.groupId}-warmup-${process.pid}`;
  const redisPrefix = `${setup.redisPrefix}warmup-${process.pid}:`;
  const iso = isolationAt(setup.warmup.topicPrefix, redisPrefix, () => groupId);
  const warm = await startProcessor({ kafka: benchKafka('bench-pipeline-warmup'), iso, numPartitions: setup.numPartitions });
  try {
    await warm.source.reached(setup.warmup.events, 120_000);
    await deleteRedisPrefix(warm.redis, redisPrefix);
  } finally {
    await warm.stop();
  }
}

async function main(setup: PipelineWorkerSetup): Promise<void> {
  await warmUp(setup);
  const iso = isolationAt(setup.topicPrefix, setup.redisPrefix, () => setup.groupId);
  const running = await startProcessor({
    kafka: benchKafka('bench-pipeline-worker'),
    iso,
    numPartitions: setup.numPartitions,
    groupId: setup.groupId,
    redisPrefix: setup.redisPrefix,
    startPaused: true,
  });
  let cpuAtGo: NodeJS.CpuUsage | null = null;

  serveParent<PipelineWorkerRequest>(
    async (req) => {
      if (req.cmd === 'assigned') return running.source.partitions;
      if (req.cmd === 'go') {
        if (running.source.handled > 0) throw new Error(`handled ${running.source.handled} events before go: the gate leaked`);
        cpuAtGo = process.cpuUsage();
        running.resume();
        return true;
      }
      const { handled, lastAt } = running.source;
      const cpu = cpuAtGo === null ? null : process.cpuUsage(cpuAtGo);
      const progress: PipelineWorkerProgress = {
        handled,
        // A performance.now() value of this process, turned into epoch ms.
        lastAt: lastAt === 0 ? 0 : performance.timeOrigin + lastAt,
        cpuS: cpu === null ? 0 : (cpu.user + cpu.system) / 1e6,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
      };
      return progress;
    },
    async () => {
      await running.stop().catch(() => undefined);
      process.exit(0);
    },
  );
}

workerMain('pipeline-worker.ts', main);
