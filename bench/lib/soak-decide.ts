/**
 * The soak's decide service in its own process (as deployed: decide is a stateless service of its own),
 * so its latency is not measured through ingest's work in the bench process. Wired like
 * services/decide/src/main.ts (decideRedisOptions, thin router), with a static read key.
 *
 * Protocol (bench/lib/child.ts forkWorker): argv[2] = SoakDecideSetup JSON; `{ready: true}` once it
 * listens; `{cmd: 'stats'}` → `{result: SoakDecideStats}`; `{cmd: 'exit'}` closes and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { staticKeyVerifier } from '@tinycdp/http';
import { createDecideApp, decideRedisOptions } from '../../services/decide/src/app';
import { serveParent, workerMain } from './child';

export interface SoakDecideSetup {
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly readKey: string;
  /** Where `{ready}` reports the port (0 = any free port). */
  readonly port: number;
}

export interface SoakDecideStats {
  readonly port: number;
  /** Decisions answered with reason ERROR (failed or timed-out Redis reads): must stay 0. */
  readonly errorAnswers: number;
  /** Event-loop delay of the decide process since it started, ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

async function main(setup: SoakDecideSetup): Promise<void> {
  const redis = new Redis(setup.redisUrl, decideRedisOptions(1_000));
  const registry = new Registry();
  const app = createDecideApp({
    redis,
    keys: staticKeyVerifier([{ secret: setup.readKey, id: 'bench', scope: 'read' }]),
    prefix: setup.redisPrefix,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    registry,
    redisTimeoutMs: 1_000,
  });
  const { port } = await app.listen(setup.port, '127.0.0.1');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const stats = async (): Promise<SoakDecideStats> => {
    const m = await registry.getSingleMetric('tinycdp_decide_errors_total')?.get();
    return {
      port,
      errorAnswers: (m?.values ?? []).reduce((s, v) => s + v.value, 0),
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
    };
  };
  serveParent<{ cmd: 'stats' }>(stats, async () => {
    await app.close().catch(() => undefined);
    redis.disconnect();
    process.exit(0);
  });
}

workerMain('soak-decide.ts', main);
