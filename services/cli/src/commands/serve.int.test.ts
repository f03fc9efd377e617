/**
 * `tinycdp serve <service>`: one service alone against the real backends, in a child process (the
 * command never returns; the service's own signal handlers end it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '@tinycdp/kafka';
import { createIsolatedSchema, deleteTopics, freePort, getServices, isolatedRedisPrefix, isolatedTopicPrefix, waitFor, type IsolatedSchema } from '@tinycdp/testkit';
import { captureIo } from '../internal/capture-io';
import { spawnCli, type CliProcess } from '../internal/cli-process';
import { migrateCommand } from './migrate';
import { serveCommand } from './serve';

const services = getServices();
const topicPrefix = isolatedTopicPrefix();
let schema: IsolatedSchema;
const children: CliProcess[] = [];

beforeAll(async () => {
  schema = await createIsolatedSchema(services.databaseUrl);
  const io = captureIo();
  expect(await migrateCommand.runWith([], { DATABASE_URL: schema.url }, io), io.err()).toBe(0);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  await schema?.drop();
  await deleteTopics(services.kafkaBrokers, Object.values(topicNames(topicPrefix))).catch(() => undefined);
});

async function serve(name: string): Promise<{ url: string; child: CliProcess }> {
  const port = await freePort();
  const child = spawnCli(['serve', name], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    REDIS_URL: services.redisUrl,
    DATABASE_URL: schema.url,
    TINYCDP_TOPIC_PREFIX: topicPrefix,
    TINYCDP_REDIS_PREFIX: isolatedRedisPrefix(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.child.exitCode !== null) throw new Error(`serve ${name} exited ${child.child.exitCode}: ${child.lines.slice(-5).join('\n')}`);
      return (await fetch(`${url}/${name}/health`).catch(() => null)) !== null;
    },
    { timeoutMs: 40_000, intervalMs: 200, message: `serve ${name} listening` },
  );
  return { url, child };
}

describe('tinycdp serve', () => {
  it('serve decide: answers /decide/health with its Redis check, stops on SIGTERM', async () => {
    const { url, child } = await serve('decide');
    const res = await fetch(`${url}/decide/health`);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.values(body.checks).every((c) => c.status === 'ok')).toBe(true);
    // Stateless: an unknown key is refused, not crashed on.
    expect((await fetch(`${url}/v1/decide?userId=u1`, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect(child.logs().some((l) => l.msg === 'decide_listening')).toBe(true);
    expect(await child.stop()).toBe(0);
  }, 60_000);

  it('serve ingest: answers /ingest/health with the event log check, stops on SIGTERM', async () => {
    const { url, child } = await serve('ingest');
    const res = await fetch(`${url}/ingest/health`);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ok');
    expect((await fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect(child.logs().some((l) => l.msg === 'ingest_started')).toBe(true);
    expect(await child.stop()).toBe(0);
  }, 60_000);

  it('serve nonsense: exits non-zero and names the services', async () => {
    const io = captureIo();
    expect(await serveCommand.runWith(['nonsense'], {}, io)).toBe(2);
    expect(io.err()).toContain('expected one of ingest, processor, decide, admin, got nonsense');
    const child = spawnCli(['serve', 'nonsense'], { PATH: process.env.PATH, HOME: process.env.HOME });
    children.push(child);
    expect(await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))])).toBe(2);
    expect(child.lines.join('\n')).toContain('tinycdp serve: expected one of ingest, processor, decide, admin, got nonsense');
  }, 60_000);
});
