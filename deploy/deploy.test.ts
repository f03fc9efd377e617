// Static validation of the deployment artefacts (no Docker / Kubernetes needed):
// docker-compose.yml, deploy/k8s/*.yaml, deploy/Dockerfile and .dockerignore, checked against the
// service code itself: env var names come from the zod schemas in services/*/src/config.ts (parsed with
// the TypeScript compiler API), health paths from the route strings in the service sources, and every
// service's env block must make that service's real parse function accept it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, loadAll } from 'js-yaml';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
type Obj = Record<string, any>;

// ---------------------------------------------------------------------------------------------------
// Services: entry point -> config schema source + the function that parses it
// ---------------------------------------------------------------------------------------------------
type ServiceName = 'ingest' | 'processor' | 'decide' | 'admin' | 'cli';
const SERVICES: Record<ServiceName, { config: string; parse: string; healthPath: string; srcDirs: string[] }> = {
  ingest: { config: 'services/ingest/src/config.ts', parse: 'loadIngestConfig', healthPath: '/ingest/health', srcDirs: ['services/ingest/src'] },
  processor: { config: 'services/processor/src/config.ts', parse: 'parseConfig', healthPath: '/processor/health', srcDirs: ['services/processor/src'] },
  decide: { config: 'services/decide/src/config.ts', parse: 'parseConfig', healthPath: '/decide/health', srcDirs: ['services/decide/src'] },
  admin: { config: 'services/admin/src/config.ts', parse: 'parseConfig', healthPath: '/admin/health', srcDirs: ['services/admin/src'] },
  cli: { config: 'services/cli/src/compose/config.ts', parse: 'parseAllInOneConfig', healthPath: '/health', srcDirs: ['services/cli/src'] },
};
/** Read by Node itself, not by a TinyCDP schema; allowed in compose/manifests. */
const NODE_RUNTIME_ENV = new Set(['NODE_OPTIONS', 'NODE_ENV']);

/** Which service a container runs, from its entry arguments (`services/<name>/src/main.ts` [...]). */
function serviceOf(args: unknown): ServiceName {
  const first = Array.isArray(args) ? String(args[0]) : String(args ?? '');
  const m = /^services\/([a-z-]+)\/src\/main\.ts$/.exec(first);
  if (!m || !(m[1]! in SERVICES)) throw new Error(`cannot tell which service runs with args ${JSON.stringify(args)}`);
  return m[1] as ServiceName;
}

// ---------------------------------------------------------------------------------------------------
// Env schema extraction from source text (TypeScript AST): keys of the z.object({...}) literal, and
// whether each is optional (`.optional()` / `.default()` / `.catch()` somewhere on its method chain,
// following a local `const x = z....` the property refers to).
// ---------------------------------------------------------------------------------------------------
interface EnvSchema {
  readonly file: string;
  readonly keys: ReadonlySet<string>;
  readonly required: ReadonlySet<string>;
}

function extractEnvSchema(source: string, file = 'config.ts'): EnvSchema {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const locals = new Map<string, ts.Expression>();
  const objects: ts.ObjectLiteralExpression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) locals.set(n.name.text, n.initializer);
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === 'object' &&
      ts.isIdentifier(n.expression.expression) &&
      n.expression.expression.text === 'z' &&
      n.arguments[0] &&
      ts.isObjectLiteralExpression(n.arguments[0])
    ) {
      objects.push(n.arguments[0]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const envObjects = objects.filter((o) => o.properties.some((p) => p.name && /^[A-Z][A-Z0-9_]*$/.test(p.name.getText(sf))));
  if (envObjects.length !== 1) throw new Error(`${file}: expected exactly one z.object({...}) of env vars, found ${envObjects.length}`);

  const isOptional = (e: ts.Expression, seen = new Set<string>()): boolean => {
    let cur: ts.Expression = e;
    for (;;) {
      while (ts.isParenthesizedExpression(cur) || ts.isAsExpression(cur) || ts.isSatisfiesExpression(cur)) cur = cur.expression;
      if (ts.isCallExpression(cur) && ts.isPropertyAccessExpression(cur.expression)) {
        if (['optional', 'default', 'catch', 'nullish', 'prefault'].includes(cur.expression.name.text)) return true;
        cur = cur.expression.expression;
        continue;
      }
      if (ts.isCallExpression(cur)) {
        cur = cur.expression;
        continue;
      }
      if (ts.isPropertyAccessExpression(cur)) {
        cur = cur.expression;
        continue;
      }
      if (ts.isIdentifier(cur) && cur.text !== 'z' && locals.has(cur.text) && !seen.has(cur.text)) {
        seen.add(cur.text);
        cur = locals.get(cur.text)!;
        continue;
      }
      return false;
    }
  };

  const keys = new Set<string>();
  const required = new Set<string>();
  for (const p of envObjects[0]!.properties) {
    if (!ts.isPropertyAssignment(p)) throw new Error(`${file}: unsupported schema member ${p.getText(sf)}`);
    const name = ts.isStringLiteral(p.name) ? p.name.text : p.name.getText(sf);
    keys.add(name);
    if (!isOptional(p.initializer)) required.add(name);
  }
  return { file, keys, required };
}

const schemaCache = new Map<ServiceName, EnvSchema>();
function schemaOf(service: ServiceName): EnvSchema {
  let s = schemaCache.get(service);
  if (!s) {
    s = extractEnvSchema(read(SERVICES[service].config), SERVICES[service].config);
    schemaCache.set(service, s);
  }
  return s;
}

/** Problems with one container's env against its service's schema (names only; values are checked by parsing). */
function envProblems(where: string, env: Readonly<Record<string, unknown>>, schema: EnvSchema): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (!schema.keys.has(name) && !NODE_RUNTIME_ENV.has(name)) problems.push(`${where}: ${name} is not read by ${schema.file}`);
  }
  for (const name of schema.required) {
    if (!(name in env)) problems.push(`${where}: required ${name} (${schema.file}) is not provided`);
  }
  return problems;
}

async function parseWith(service: ServiceName, env: Record<string, string>): Promise<void> {
  const mod = (await import(/* @vite-ignore */ join(ROOT, SERVICES[service].config))) as Record<string, unknown>;
  const fn = mod[SERVICES[service].parse];
  if (typeof fn !== 'function') throw new Error(`${SERVICES[service].config} no longer exports ${SERVICES[service].parse}`);
  fn(env);
}

// ---------------------------------------------------------------------------------------------------
// Route strings in the service sources
// ---------------------------------------------------------------------------------------------------
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, e);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}
const routeCache = new Map<ServiceName, string>();
/** True if the service's (non-test) sources contain the path as a string literal, e.g. `'/decide/health'`. */
function serviceHasRoute(service: ServiceName, path: string): boolean {
  let text = routeCache.get(service);
  if (text === undefined) {
    text = SERVICES[service].srcDirs.flatMap(sourceFiles).map(read).join('\n');
    routeCache.set(service, text);
  }
  return [`'${path}'`, `"${path}"`, `\`${path}\``].some((lit) => text.includes(lit));
}

// ---------------------------------------------------------------------------------------------------
// Topic settings: every service that creates the topics at start-up must create them alike
// ---------------------------------------------------------------------------------------------------
const TOPIC_SETTINGS_ENV = ['TINYCDP_PARTITIONS', 'TINYCDP_REPLICATION_FACTOR'] as const;
/** True if the service's (non-test) sources call ensureTopics, i.e. it may be the one that creates the topics. */
function serviceCreatesTopics(service: ServiceName): boolean {
  return SERVICES[service].srcDirs.flatMap(sourceFiles).some((f) => /\bensureTopics\(/.test(read(f)));
}
/**
 * Problems with the topic settings of a set of containers: each one that talks to Kafka and runs a
 * service creating topics must set both variables explicitly, and all of them to the same values.
 */
function topicSettingsProblems(containers: readonly { where: string; service: ServiceName; env: Readonly<Record<string, string>> }[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { where, service, env } of containers) {
    if (!env.KAFKA_BROKERS || !serviceCreatesTopics(service)) continue;
    for (const name of TOPIC_SETTINGS_ENV) {
      const value = env[name];
      if (value === undefined) problems.push(`${where}: creates topics but does not set ${name}`);
      else if (seen.has(name) && seen.get(name) !== value) problems.push(`${where}: ${name}=${value}, another service sets ${seen.get(name)}`);
      else seen.set(name, value);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------------
/** Problem with an image reference, or null if it is pinned (explicit tag that is not `latest`, or a digest). */
function imageProblem(image: unknown): string | null {
  if (typeof image !== 'string' || image === '') return 'missing image';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return null;
  const lastSegment = image.split('/').pop()!;
  const tag = lastSegment.includes(':') ? lastSegment.split(':').pop()! : '';
  if (tag === '') return `${image}: no explicit tag`;
  if (/latest/i.test(tag)) return `${image}: "latest" is not a pinned tag`;
  if (!/\d/.test(tag)) return `${image}: tag has no version number`;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------------
const compose = load(read('docker-compose.yml')) as Obj;
const composeServices = compose.services as Record<string, Obj>;
const APP_DOCKERFILE = 'deploy/Dockerfile';
const isAppService = (svc: Obj): boolean => svc.build?.dockerfile === APP_DOCKERFILE;
const appServices = Object.entries(composeServices).filter(([, s]) => isAppService(s));

function composeEnv(svc: Obj): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((kv: string) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose interpolation with no variables set: `${X:-d}` / `${X-d}` -> d. `${X}` / `$X` without default: error. */
function interpolateDefaults(value: string, where: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
      if (def === undefined) throw new Error(`${where}: \${${name}} has no default, so \`docker compose up\` needs it set`);
      return def;
    })
    .replace(/\$\$/g, '$');
}

function healthcheckPath(test: unknown): string | undefined {
  if (!Array.isArray(test)) return undefined;
  const i = test.findIndex((t) => String(t).endsWith('deploy/healthcheck.mjs'));
  return i === -1 ? undefined : String(test[i + 1] ?? '/health');
}

describe('docker-compose.yml', () => {
  it('has Kafka (KRaft), Redis 7, Postgres 16 and the four services (+ the optional all-in-one)', () => {
    expect(Object.keys(composeServices).sort()).toEqual(
      ['admin', 'decide', 'ingest', 'kafka', 'postgres', 'processor', 'redis', 'tinycdp'].sort(),
    );
    expect(composeServices.kafka!.image).toMatch(/^apache\/kafka:4\.1\.\d+$/);
    expect(composeServices.redis!.image).toMatch(/^redis:7(\.\d+)*(-alpine)?$/);
    expect(composeServices.postgres!.image).toMatch(/^postgres:16(\.\d+)*(-alpine)?$/);
    const k = composeEnv(composeServices.kafka!);
    expect(k.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(k.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
    expect(k.KAFKA_CONTROLLER_LISTENER_NAMES).toBe('CONTROLLER');
    expect(k.KAFKA_LISTENERS).toContain('CONTROLLER://');
    expect(k.KAFKA_ADVERTISED_LISTENERS).toContain('PLAINTEXT://kafka:9092');
    for (const rf of Object.keys(k).filter((n) => /REPLICATION_FACTOR|MIN_ISR|MIN_INSYNC/.test(n))) expect(k[rf], rf).toBe('1');
    expect(k.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  it('every service has an image or a build, a pinned image tag, and a healthcheck', () => {
    for (const [name, svc] of Object.entries(composeServices)) {
      expect(svc.image ?? svc.build, `${name}: image or build`).toBeTruthy();
      if (svc.image !== undefined) expect(imageProblem(svc.image), name).toBeNull();
      expect(svc.healthcheck?.test, `${name}: healthcheck`).toBeTruthy();
      expect(svc.healthcheck?.disable, `${name}: healthcheck disabled`).not.toBe(true);
    }
  });

  it('depends_on uses valid conditions on defined services (service_healthy only on services with a healthcheck)', () => {
    const valid = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const [name, svc] of Object.entries(composeServices)) {
      const deps = svc.depends_on ?? {};
      expect(Array.isArray(deps), `${name}: use the long depends_on form with conditions`).toBe(false);
      for (const [dep, spec] of Object.entries(deps as Record<string, Obj>)) {
        expect(composeServices[dep], `${name} depends on undefined service ${dep}`).toBeDefined();
        expect(valid.has(spec?.condition), `${name} -> ${dep}: condition ${spec?.condition}`).toBe(true);
        if (spec.condition === 'service_healthy') expect(composeServices[dep]!.healthcheck, `${dep} healthcheck`).toBeDefined();
      }
    }
  });

  it('the app services all run the image built from deploy/Dockerfile, with a known service main', () => {
    expect(appServices.map(([n]) => n).sort()).toEqual(['admin', 'decide', 'ingest', 'processor', 'tinycdp']);
    for (const [name, svc] of appServices) {
      expect(svc.build.context, name).toBe('.');
      const service = serviceOf(svc.command);
      expect(name === 'tinycdp' ? 'cli' : name).toBe(service);
      expect(existsSync(join(ROOT, svc.command[0])), `${name}: ${svc.command[0]} exists`).toBe(true);
      if (service === 'cli') expect(svc.command.slice(1)).toEqual(['start']);
      if (svc.user !== undefined) expect(String(svc.user), `${name}: user`).not.toMatch(/^(root|0)(:|$)/);
    }
  });

  it('every env var of an app service is read by its config schema, and every required one is set', () => {
    const problems = appServices.flatMap(([name, svc]) => envProblems(`compose ${name}`, composeEnv(svc), schemaOf(serviceOf(svc.command))));
    expect(problems).toEqual([]);
  });

  it("each app service's real config parser accepts its env (with compose's default interpolation)", async () => {
    for (const [name, svc] of appServices) {
      const env = Object.fromEntries(Object.entries(composeEnv(svc)).map(([k, v]) => [k, interpolateDefaults(v, `${name}.${k}`)]));
      await expect(parseWith(serviceOf(svc.command), env), name).resolves.toBeUndefined();
    }
  });

  it('app services depend (healthy) on every backend their env points at', () => {
    for (const [name, svc] of appServices) {
      const env = composeEnv(svc);
      const hosts = new Set<string>();
      for (const b of (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean)) hosts.add(b.split(':')[0]!);
      for (const url of [env.REDIS_URL, env.DATABASE_URL].filter(Boolean)) hosts.add(new URL(interpolateDefaults(url!, name)).hostname);
      for (const h of hosts) {
        expect(composeServices[h], `${name}: backend host ${h} is a compose service`).toBeDefined();
        expect(svc.depends_on?.[h]?.condition, `${name} -> ${h}`).toBe('service_healthy');
      }
    }
  });

  it('app healthchecks probe health routes that exist in the service code, on the port the service listens on', () => {
    for (const [name, svc] of appServices) {
      const service = serviceOf(svc.command);
      const path = healthcheckPath(svc.healthcheck.test);
      expect(path, `${name}: healthcheck runs deploy/healthcheck.mjs`).toBeDefined();
      expect(path).toBe(SERVICES[service].healthPath);
      expect(serviceHasRoute(service, path!), `${name}: route ${path} in ${SERVICES[service].srcDirs}`).toBe(true);
      const port = composeEnv(svc).PORT;
      expect(port, `${name}: PORT set explicitly (the health probe reads it)`).toMatch(/^\d+$/);
      const published = [...(svc.ports ?? []), ...(svc.expose ?? [])].map((p: unknown) => String(p).split(':').pop()!.split('/')[0]);
      expect(published, `${name}: publishes/exposes ${port}`).toContain(port);
    }
    expect(existsSync(join(ROOT, 'deploy/healthcheck.mjs'))).toBe(true);
  });

  it('the processor is scalable: deploy.replicas, no fixed host port, replicas <= partitions', () => {
    const p = composeServices.processor!;
    expect(p.deploy?.replicas).toBeGreaterThanOrEqual(1);
    expect(p.ports ?? [], 'a published host port would make --scale fail').toEqual([]);
    expect(p.deploy.replicas).toBeLessThanOrEqual(Number(composeEnv(p).TINYCDP_PARTITIONS ?? 6));
  });

  it('every service that creates topics sets the same partitions and replication factor (1: a single broker)', () => {
    const containers = appServices.map(([name, svc]) => ({ where: `compose ${name}`, service: serviceOf(svc.command), env: composeEnv(svc) }));
    expect(containers.filter((c) => c.env.KAFKA_BROKERS && serviceCreatesTopics(c.service)).map((c) => c.where).sort()).toEqual(
      ['compose admin', 'compose ingest', 'compose processor', 'compose tinycdp'],
    );
    expect(topicSettingsProblems(containers)).toEqual([]);
    for (const { where, env } of containers) if (env.KAFKA_BROKERS) expect(env.TINYCDP_REPLICATION_FACTOR, where).toBe('1');
  });

  it('host ports do not collide', () => {
    const hostPorts = Object.values(composeServices).flatMap((s) => (s.ports ?? []).map((p: unknown) => String(p).split(':').slice(-2)[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });
});

// ---------------------------------------------------------------------------------------------------
// Kubernetes manifests
// ---------------------------------------------------------------------------------------------------
const K8S_DIR = 'deploy/k8s';
const manifestFiles = readdirSync(join(ROOT, K8S_DIR)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
const docs: { file: string; doc: Obj }[] = manifestFiles.flatMap((file) =>
  (loadAll(read(join(K8S_DIR, file))) as Obj[]).filter((d) => d != null).map((doc) => ({ file, doc })),
);
const ofKind = (kind: string): Obj[] => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const configMaps = new Map(ofKind('ConfigMap').map((c) => [c.metadata.name as string, (c.data ?? {}) as Record<string, string>]));
const secrets = new Map(
  ofKind('Secret').map((s) => [
    s.metadata.name as string,
    {
      ...Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
      ...((s.stringData ?? {}) as Record<string, string>),
    },
  ]),
);
const deployments = ofKind('Deployment');
const deploymentService = (d: Obj): ServiceName => serviceOf(d.spec.template.spec.containers[0].args ?? d.spec.template.spec.containers[0].command);
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** A container's env with ConfigMap / Secret references resolved (throws on dangling references). */
function resolveK8sEnv(c: Obj, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const src = from.configMapRef ? configMaps.get(from.configMapRef.name) : secrets.get(from.secretRef?.name);
    if (!src) throw new Error(`${where}: envFrom references an undefined ConfigMap/Secret`);
    Object.assign(out, src);
  }
  for (const e of c.env ?? []) {
    if ('value' in e) out[e.name] = String(e.value);
    else if (e.valueFrom?.configMapKeyRef) {
      const v = configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key];
      if (v === undefined) throw new Error(`${where}: ${e.name} -> missing ConfigMap key ${JSON.stringify(e.valueFrom.configMapKeyRef)}`);
      out[e.name] = v;
    } else if (e.valueFrom?.secretKeyRef) {
      const v = secrets.get(e.valueFrom.secretKeyRef.name)?.[e.valueFrom.secretKeyRef.key];
      if (v === undefined) throw new Error(`${where}: ${e.name} -> missing Secret key ${JSON.stringify(e.valueFrom.secretKeyRef)}`);
      out[e.name] = v;
    } else throw new Error(`${where}: unsupported env entry ${JSON.stringify(e)}`);
  }
  return out;
}

describe('deploy/k8s manifests', () => {
  it('parse, are complete objects in the tinycdp namespace, and kustomization.yaml lists every file', () => {
    expect(docs.length).toBeGreaterThan(10);
    for (const { file, doc } of docs) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
      if (doc.kind !== 'Namespace') expect(doc.metadata.namespace, `${file} ${doc.kind}/${doc.metadata.name}`).toBe('tinycdp');
    }
    const kust = load(read(join(K8S_DIR, 'kustomization.yaml'))) as Obj;
    expect([...kust.resources].sort()).toEqual(manifestFiles);
    expect(ofKind('Namespace').map((n) => n.metadata.name)).toEqual(['tinycdp']);
  });

  it('has Deployments for ingest, decide, admin and processor, each with a Service, PDB; HPAs for decide and ingest', () => {
    expect(deployments.map(deploymentService).sort()).toEqual(['admin', 'decide', 'ingest', 'processor']);
    for (const d of deployments) {
      const podLabels = d.spec.template.metadata.labels;
      expect(matches(d.spec.selector.matchLabels, podLabels), `${d.metadata.name}: selector matches its pods`).toBe(true);
      const svc = ofKind('Service').find((s) => matches(s.spec.selector, podLabels));
      expect(svc, `${d.metadata.name}: Service`).toBeDefined();
      const portNames = d.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name));
      for (const p of svc!.spec.ports) expect(typeof p.targetPort === 'number' || portNames.includes(p.targetPort), `${svc!.metadata.name} targetPort`).toBe(true);
      const pdb = ofKind('PodDisruptionBudget').find((b) => matches(b.spec.selector.matchLabels, podLabels));
      expect(pdb, `${d.metadata.name}: PodDisruptionBudget`).toBeDefined();
    }
    const hpas = ofKind('HorizontalPodAutoscaler');
    const targets = hpas.map((h) => h.spec.scaleTargetRef.name).sort();
    expect(targets).toEqual(['tinycdp-decide', 'tinycdp-ingest']);
    for (const h of hpas) {
      expect(h.apiVersion).toBe('autoscaling/v2');
      expect(deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name && h.spec.scaleTargetRef.kind === 'Deployment')).toBe(true);
      expect(h.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(h.spec.maxReplicas).toBeGreaterThan(h.spec.minReplicas);
    }
  });

  it('stateless services run >= 2 replicas; the processor runs <= partitions', () => {
    for (const d of deployments) {
      const service = deploymentService(d);
      expect(d.spec.replicas, d.metadata.name).toBeGreaterThanOrEqual(2);
      if (service === 'processor') {
        const env = resolveK8sEnv(d.spec.template.spec.containers[0], d.metadata.name);
        expect(d.spec.replicas).toBeLessThanOrEqual(Number(env.TINYCDP_PARTITIONS ?? 6));
      }
    }
  });

  it('probes hit health routes that exist in the service code, on a declared container port', () => {
    for (const d of deployments) {
      const service = deploymentService(d);
      for (const c of d.spec.template.spec.containers as Obj[]) {
        const ports = new Map<string | number, number>((c.ports ?? []).flatMap((p: Obj) => [[p.name, p.containerPort], [p.containerPort, p.containerPort]]));
        const env = resolveK8sEnv(c, d.metadata.name);
        expect(String(ports.get('http')), `${d.metadata.name}: containerPort == PORT`).toBe(env.PORT);
        for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
          const probe = c[kind];
          expect(probe, `${d.metadata.name} ${kind}`).toBeDefined();
          const handler = probe.httpGet ?? probe.tcpSocket;
          expect(handler, `${d.metadata.name} ${kind}: httpGet or tcpSocket`).toBeDefined();
          expect(ports.has(handler.port), `${d.metadata.name} ${kind}: port ${handler.port} declared`).toBe(true);
          if (kind !== 'livenessProbe') expect(probe.httpGet?.path, `${d.metadata.name} ${kind}`).toBe(SERVICES[service].healthPath);
          if (probe.httpGet) expect(serviceHasRoute(service, probe.httpGet.path), `${d.metadata.name} ${kind}: ${probe.httpGet.path} in code`).toBe(true);
        }
      }
    }
  });

  it('containers run non-root, read-only, without privilege escalation, with resources and pinned images', () => {
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser, d.metadata.name).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken, d.metadata.name).toBe(false);
      for (const c of pod.containers as Obj[]) {
        const where = `${d.metadata.name}/${c.name}`;
        expect(imageProblem(c.image), where).toBeNull();
        expect(c.securityContext?.runAsNonRoot ?? pod.securityContext.runAsNonRoot, where).toBe(true);
        expect(c.securityContext?.runAsUser ?? pod.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
        // tsx writes its transform cache under /tmp: it must be a writable volume
        const tmp = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === '/tmp');
        expect(tmp, `${where}: /tmp volume`).toBeDefined();
        expect(pod.volumes.find((v: Obj) => v.name === tmp.name)?.emptyDir, `${where}: /tmp is an emptyDir`).toBeDefined();
        expect(c.resources?.requests?.cpu, where).toBeTruthy();
        expect(c.resources?.requests?.memory, where).toBeTruthy();
        expect(c.resources?.limits?.memory, where).toBeTruthy();
      }
    }
  });

  it('every env var is read by the config schema of the service the container runs, and every required one is set', () => {
    const problems = deployments.flatMap((d) =>
      (d.spec.template.spec.containers as Obj[]).flatMap((c) =>
        envProblems(`k8s ${d.metadata.name}`, resolveK8sEnv(c, d.metadata.name), schemaOf(deploymentService(d))),
      ),
    );
    expect(problems).toEqual([]);
    // ConfigMap keys are env names too: none may be a name no schema reads (a stale rename)
    const allKeys = new Set((Object.keys(SERVICES) as ServiceName[]).flatMap((s) => [...schemaOf(s).keys]));
    for (const [name, data] of [...configMaps, ...secrets]) {
      for (const k of Object.keys(data)) expect(allKeys.has(k), `${name}.${k} is read by no config schema`).toBe(true);
    }
  });

  it('every Deployment that creates topics sets the same partitions and replication factor', () => {
    const containers = deployments.map((d) => ({
      where: `k8s ${d.metadata.name}`,
      service: deploymentService(d),
      env: resolveK8sEnv(d.spec.template.spec.containers[0], d.metadata.name),
    }));
    expect(containers.filter((c) => c.env.KAFKA_BROKERS && serviceCreatesTopics(c.service)).map((c) => c.where).sort()).toEqual(
      ['k8s tinycdp-admin', 'k8s tinycdp-ingest', 'k8s tinycdp-processor'],
    );
    expect(topicSettingsProblems(containers)).toEqual([]);
    // the checker notices a service left on the defaults, and a service set differently
    const ingest = containers.find((c) => c.service === 'ingest')!;
    const { TINYCDP_PARTITIONS: _dropped, ...withoutPartitions } = ingest.env;
    expect(topicSettingsProblems([...containers.filter((c) => c !== ingest), { ...ingest, env: withoutPartitions }])).toEqual([
      `${ingest.where}: creates topics but does not set TINYCDP_PARTITIONS`,
    ]);
    expect(topicSettingsProblems([...containers, { ...ingest, where: 'other', env: { ...ingest.env, TINYCDP_REPLICATION_FACTOR: '2' } }])).toHaveLength(1);
  });

  it("each service's real config parser accepts the resolved env", async () => {
    for (const d of deployments) {
      const env = resolveK8sEnv(d.spec.template.spec.containers[0], d.metadata.name);
      await expect(parseWith(deploymentService(d), env), d.metadata.name).resolves.toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Dockerfile + .dockerignore
// ---------------------------------------------------------------------------------------------------
describe('deploy/Dockerfile', () => {
  const text = read(APP_DOCKERFILE);
  // logical lines: join continuations, drop comments
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const stages: string[] = [];

  it('is multi-stage with pinned base images', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) {
      const m = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(f)!;
      const image = m[1]!;
      if (!stages.includes(image)) expect(imageProblem(image), f).toBeNull();
      if (m[2]) stages.push(m[2]);
    }
    expect(text).not.toMatch(/:latest\b/);
  });

  it('installs production dependencies only (tsx is one) and runs `node --import tsx`', () => {
    expect(text).toMatch(/npm ci\b[^\n]*--omit=dev/);
    const pkg = JSON.parse(read('package.json')) as Obj;
    expect(pkg.dependencies?.tsx, 'tsx must be a runtime dependency for the image to start').toBeTruthy();
    const entry = lines.filter((l) => /^ENTRYPOINT\s/i.test(l)).pop();
    expect(JSON.parse(entry!.replace(/^ENTRYPOINT\s+/i, ''))).toEqual(['node', '--import', 'tsx']);
    const cmd = lines.filter((l) => /^CMD\s/i.test(l)).pop();
    const args = JSON.parse(cmd!.replace(/^CMD\s+/i, '')) as string[];
    serviceOf(args);
    expect(existsSync(join(ROOT, args[0]!))).toBe(true);
  });

  it('the final stage runs as a non-root (numeric) user and has a HEALTHCHECK', () => {
    const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
    const finalStage = lines.slice(lastFrom);
    const users = finalStage.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]!);
    expect(users.length).toBeGreaterThan(0);
    const user = users.pop()!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user, 'numeric, so Kubernetes can verify runAsNonRoot').toMatch(/^[1-9]\d*(:\d+)?$/);
    const hc = finalStage.find((l) => /^HEALTHCHECK\s/i.test(l));
    expect(hc).toBeDefined();
    expect(hc).toContain('deploy/healthcheck.mjs');
  });

  it('copies what the runtime needs, and .dockerignore keeps host node_modules and secrets out without dropping it', () => {
    for (const src of ['libs', 'services', 'schemas', 'deploy/healthcheck.mjs']) {
      expect(lines.some((l) => new RegExp(`^COPY\\s+(?!--from)[^\\n]*\\b${src.replace('.', '\\.')}\\b`).test(l)), `COPY ${src}`).toBe(true);
    }
    const ignore = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore).toContain('**/node_modules');
    expect(ignore).toContain('.git');
    expect(ignore.some((l) => /\.env/.test(l))).toBe(true);
    for (const needed of ['libs', 'services', 'schemas', 'package.json', 'package-lock.json']) {
      expect(ignore.filter((l) => l === needed || l === `${needed}/` || l === `/${needed}`), `${needed} must reach the build`).toEqual([]);
    }
    // deploy/ is ignored except the health probe, which must be re-included after the exclusion
    const deployIdx = ignore.indexOf('deploy');
    if (deployIdx !== -1) expect(ignore.indexOf('!deploy/healthcheck.mjs')).toBeGreaterThan(deployIdx);
  });
});

// ---------------------------------------------------------------------------------------------------
// The checker itself: it must notice renames (guards against a vacuous pass)
// ---------------------------------------------------------------------------------------------------
describe('env schema extraction', () => {
  it("agrees with the real parsers: the required keys are exactly those an empty env is rejected for", async () => {
    for (const service of Object.keys(SERVICES) as ServiceName[]) {
      const schema = schemaOf(service);
      expect(schema.keys.has('PORT'), service).toBe(true);
      expect(schema.keys.has('LOG_LEVEL'), service).toBe(true);
      const rejected = await parseWith(service, {}).then(
        () => [],
        (err: Error) => [...err.message.matchAll(/^\s+([A-Z][A-Z0-9_]*)(?:\.[^:]*)?:/gm)].map((m) => m[1]!),
      );
      expect([...schema.required].sort(), `${service}: required keys`).toEqual([...new Set(rejected)].sort());
    }
    // the backends the split services cannot run without
    expect(schemaOf('processor').required).toEqual(new Set(['KAFKA_BROKERS', 'REDIS_URL']));
    expect(schemaOf('cli').required.size, 'the all-in-one runs with no env at all').toBe(0);
  });

  it('reports a renamed env var in a config schema (both the stale name and the missing new one)', () => {
    const original = read(SERVICES.ingest.config);
    const renamed = original.replace(/\bKAFKA_BROKERS\b(?=\s*:)/, 'KAFKA_BOOTSTRAP_SERVERS');
    expect(renamed).not.toBe(original);
    const schema = extractEnvSchema(renamed, 'ingest/config.ts (renamed)');
    const problems = envProblems('compose ingest', composeEnv(composeServices.ingest!), schema);
    expect(problems.some((p) => p.includes('KAFKA_BROKERS is not read'))).toBe(true);
    expect(problems.some((p) => p.includes('required KAFKA_BOOTSTRAP_SERVERS'))).toBe(true);
  });

  it('treats .optional() / .default() anywhere on the chain (or on a referenced local) as optional', () => {
    const s = extractEnvSchema(`
      import { z } from 'zod';
      const flag = z.enum(['1', '0']).transform((v) => v === '1');
      const list = z.string().transform((s) => s.split(','));
      export const schema = z.object({
        A: z.string(),
        B: z.string().min(1).optional(),
        C: z.coerce.number().default(3),
        D: flag.default('1'),
        E: list,
        F: list.pipe(z.array(z.string()).optional()),
        'G': z.string().url().catch('x'),
      });`);
    expect([...s.keys]).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect([...s.required].sort()).toEqual(['A', 'E', 'F']);
  });
});

