// Finds Kafka, Redis and Postgres for the integration tests, per service, in this order:
//   1. the URL in the environment (KAFKA_BROKERS / REDIS_URL / DATABASE_URL) — must answer;
//   2. testcontainers, when a container runtime answers;
//   3. local processes through scripts/services.sh (Kafka via scripts/kafka.sh, the machine's redis-server
//      and Postgres) — already-running ones are reused;
//   4. otherwise an error that names what to install. Tests are never silently skipped.
// The schema registry (only the registry tests use it) is resolved alongside: SCHEMA_REGISTRY_URL (must
// answer), else `scripts/services.sh up registry` (Apicurio from Maven Central, scripts/registry.sh). When
// it cannot be provided the run goes on; getSchemaRegistryUrl() then fails those tests with the reason.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { splitBrokers, type TestServices } from './test-services';
import { containerRuntimeUnavailable, startContainer, type ServiceName } from './containers';
import { endpointOf, tcpAnswers } from './probe';

const REPO_DIR = fileURLToPath(new URL('../../../../', import.meta.url));

interface ServiceSpec {
  env: 'KAFKA_BROKERS' | 'REDIS_URL' | 'DATABASE_URL';
  defaultPort: number;
  install: string;
}

const SPECS: Record<ServiceName, ServiceSpec> = {
  kafka: {
    env: 'KAFKA_BROKERS',
    defaultPort: 9092,
    install:
      'install a JDK 17+ and Maven (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven); ' +
      'scripts/kafka.sh then fetches Apache Kafka from Maven Central once and runs it on 127.0.0.1:9092',
  },
  redis: { env: 'REDIS_URL', defaultPort: 6379, install: 'install Redis (Debian/Ubuntu: apt-get install redis-server)' },
  postgres: {
    env: 'DATABASE_URL',
    defaultPort: 5432,
    install: 'install PostgreSQL (Debian/Ubuntu: apt-get install postgresql)',
  },
};

const NAMES: ServiceName[] = ['kafka', 'redis', 'postgres'];

export interface ResolvedServices {
  services: TestServices;
  /** How each was found, for the log line. */
  sources: Record<ServiceName | 'registry', string>;
  /** Stops containers started here. Local processes are left running for the next run (`npm run services:down`). */
  teardown(): Promise<void>;
}

export async function resolveServices(log: (line: string) => void): Promise<ResolvedServices> {
  // Started first and awaited last: a cold registry start overlaps with the other services.
  const registry = resolveRegistry(log);
  const urls: Partial<Record<ServiceName, string>> = {};
  const sources: Partial<Record<ServiceName, string>> = {};
  const tried: Record<ServiceName, string[]> = { kafka: [], redis: [], postgres: [] };
  const stops: Array<() => Promise<void>> = [];

  // 1. environment
  for (const name of NAMES) {
    const { env, defaultPort } = SPECS[name];
    const value = process.env[env]?.trim();
    if (!value) {
      tried[name].push(`${env} is not set`);
      continue;
    }
    const first = name === 'kafka' ? (splitBrokers(value)[0] ?? '') : value;
    const { host, port } = endpointOf(first, defaultPort);
    if (!(await tcpAnswers(host, port))) {
      // An explicit address that does not answer is a mistake to report, not a cue to start something else.
      throw new Error(`${env}=${value} is set, but nothing answers on ${host}:${port}. Start it, or unset ${env}.`);
    }
    urls[name] = value;
    sources[name] = `${env}`;
  }

  // 2. containers
  let missing = NAMES.filter((n) => urls[n] === undefined);
  if (missing.length > 0) {
    const unavailable = await containerRuntimeUnavailable();
    if (unavailable) {
      for (const n of missing) tried[n].push(`containers: ${unavailable}`);
    } else {
      const started = await Promise.allSettled(missing.map((n) => startContainer(n)));
      started.forEach((result, i) => {
        const name = missing[i] as ServiceName;
        if (result.status === 'fulfilled') {
          urls[name] = result.value.url;
          sources[name] = 'testcontainers';
          stops.push(result.value.stop);
        } else {
          const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
          tried[name].push(`containers: start failed: ${reason}`);
          log(`container for ${name} failed (${reason}); trying local processes`);
        }
      });
    }
  }

  // 3. local processes
  missing = NAMES.filter((n) => urls[n] === undefined);
  if (missing.length > 0) {
    if (process.env.TINYCDP_TESTKIT_LOCAL === '0') {
      for (const n of missing) tried[n].push('local: disabled by TINYCDP_TESTKIT_LOCAL=0');
    } else {
      log(`starting local ${missing.join(', ')} with scripts/services.sh (first Kafka start downloads it once)`);
      const result = await runServicesUp(missing, log);
      for (const n of missing) {
        const value = result.env[SPECS[n].env];
        if (result.code === 0 && value) {
          urls[n] = value;
          sources[n] = 'local (scripts/services.sh; stop with npm run services:down)';
        } else {
          tried[n].push(`local: scripts/services.sh up ${missing.join(' ')} failed: ${result.error || `exit ${result.code}`}`);
        }
      }
    }
  }

  // 4. give up loudly
  missing = NAMES.filter((n) => urls[n] === undefined);
  if (missing.length > 0) {
    await Promise.allSettled([...stops.map((s) => s()), registry]);
    const parts = missing.map((n) => {
      const { env, install } = SPECS[n];
      return [
        `${n}: could not be provided. Tried:`,
        ...tried[n].map((t, i) => `    ${i + 1}. ${t}`),
        `  Fix one of: export ${env}=<address of a running ${n}>; or start Docker/Podman (testcontainers); or ${install}.`,
      ].join('\n');
    });
    throw new Error(`Integration tests need Kafka, Redis and Postgres.\n${parts.join('\n')}`);
  }

  const reg = await registry;
  return {
    services: {
      kafkaBrokers: splitBrokers(urls.kafka as string),
      redisUrl: urls.redis as string,
      databaseUrl: urls.postgres as string,
      schemaRegistryUrl: reg.url,
      ...(reg.problem ? { schemaRegistryProblem: reg.problem } : {}),
    },
    sources: { ...(sources as Record<ServiceName, string>), registry: reg.source },
    teardown: async () => {
      await Promise.allSettled(stops.map((s) => s()));
    },
  };
}

/** GET <url>/subjects answers 200: a Confluent-compatible registry API root. */
async function registryAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/subjects`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function resolveRegistry(log: (line: string) => void): Promise<{ url: string | null; source: string; problem?: string }> {
  const explicit = process.env.SCHEMA_REGISTRY_URL?.trim();
  if (explicit) {
    if (await registryAnswers(explicit)) return { url: explicit, source: 'SCHEMA_REGISTRY_URL' };
    const problem = `SCHEMA_REGISTRY_URL=${explicit} is set, but GET ${explicit}/subjects does not answer 200`;
    log(problem);
    return { url: null, source: 'none', problem };
  }
  if (process.env.TINYCDP_TESTKIT_REGISTRY === '0' || process.env.TINYCDP_TESTKIT_LOCAL === '0') {
    return { url: null, source: 'none', problem: 'local registry disabled (TINYCDP_TESTKIT_REGISTRY=0 or TINYCDP_TESTKIT_LOCAL=0)' };
  }
  const t0 = Date.now();
  const result = await runServicesUp(['registry'], log);
  const url = result.env['SCHEMA_REGISTRY_URL'];
  if (result.code === 0 && url) {
    log(`schema registry ${url} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return { url, source: 'local (scripts/registry.sh; stop with npm run services:down)' };
  }
  const problem = `scripts/services.sh up registry failed: ${result.error || `exit ${result.code}`}`;
  log(problem);
  return { url: null, source: 'none', problem };
}

interface ServicesUpResult {
  code: number;
  env: Record<string, string>;
  error: string;
}

function runServicesUp(names: (ServiceName | 'registry')[], log: (line: string) => void): Promise<ServicesUpResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [`${REPO_DIR}scripts/services.sh`, 'up', ...names], {
      cwd: REPO_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => resolve({ code: -1, env: {}, error: e.message }));
    child.on('close', (code) => {
      for (const line of out.split('\n')) if (line.trim() && !line.startsWith('export ')) log(line.trim());
      const env: Record<string, string> = {};
      for (const m of out.matchAll(/^export (\w+)=(\S+)$/gm)) env[m[1] as string] = m[2] as string;
      const error = err.trim().split('\n').slice(-5).join(' | ');
      resolve({ code: code ?? -1, env, error });
    });
  });
}
