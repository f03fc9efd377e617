// Testcontainers path of the service resolution. Only loaded when a container runtime may exist, so
// machines without Docker never pay for importing testcontainers.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { freePort } from '../free-port';

export type ServiceName = 'kafka' | 'redis' | 'postgres';

// Pinned images; the Kafka one matches scripts/kafka.sh (TINYCDP_KAFKA_VERSION).
const IMAGES = {
  kafka: 'apache/kafka:4.1.1',
  redis: 'redis:7.4-alpine',
  postgres: 'postgres:16-alpine',
} as const;

/**
 * Cheap first check (no import, no I/O beyond stat): is there any sign of a container runtime?
 * Mirrors where testcontainers looks: DOCKER_HOST, ~/.testcontainers.properties, well-known sockets.
 */
function runtimeHinted(): boolean {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const home = homedir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const candidates = [
    join(home, '.testcontainers.properties'),
    '/var/run/docker.sock',
    '/run/docker.sock',
    join(home, '.docker/run/docker.sock'),
    join(home, '.docker/desktop/docker.sock'),
    join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${uid}`, 'docker.sock'),
    join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${uid}`, 'podman/podman.sock'),
    '/run/podman/podman.sock',
  ];
  return candidates.some((p) => existsSync(p));
}

/** Resolves to a reason string when no runtime answers, `null` when one does. Bounded to `timeoutMs`. */
export async function containerRuntimeUnavailable(timeoutMs = 8_000): Promise<string | null> {
  if (process.env.TINYCDP_TESTKIT_CONTAINERS === '0') return 'disabled by TINYCDP_TESTKIT_CONTAINERS=0';
  if (!runtimeHinted()) return 'no DOCKER_HOST and no Docker/Podman socket found';
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (err) {
    return `testcontainers: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

export interface StartedService {
  url: string;
  stop(): Promise<void>;
}

/** Starts one backend in a container and returns its address in the form the env var takes. */
export async function startContainer(name: ServiceName): Promise<StartedService> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  let container: StartedTestContainer;
  switch (name) {
    case 'kafka': {
      // Kafka must advertise the address clients use, so the host port is fixed before start.
      const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
      const port = await freePort();
      container = await new GenericContainer(IMAGES.kafka)
        .withExposedPorts({ container: 9092, host: port })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(120_000)
        .start();
      return { url: `${host}:${port}`, stop: async () => void (await container.stop()) };
    }
    case 'redis':
      container = await new GenericContainer(IMAGES.redis)
        .withExposedPorts(6379)
        .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .start();
      return {
        url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
        stop: async () => void (await container.stop()),
      };
    case 'postgres':
      container = await new GenericContainer(IMAGES.postgres)
        .withExposedPorts(5432)
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
        .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
        // The entrypoint starts Postgres twice (init, then for real): wait for the second "ready".
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start();
      return {
        url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`,
        stop: async () => void (await container.stop()),
      };
    default: {
      const never: never = name;
      throw new Error(`unknown service ${String(never)}`);
    }
  }
}
