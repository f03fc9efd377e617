// Private Kafka / Redis / Postgres instances for fault-injection tests. The shared services (getServices)
// are used by every concurrently running test and must never be stopped, restarted or flushed; a test
// that needs to break a backend starts its own here, on free loopback ports, and stops it in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port';
import { tcpAnswers } from './internal/probe';
import { waitFor } from './wait-for';

const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 180_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: out + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILLs the server (nothing is saved: it runs with --save '' --appendonly no). Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** stop() then start(): the same address now serves an EMPTY Redis. */
  restartEmpty(): Promise<void>;
}

/** A redis-server on a free loopback port, without persistence. Stop it in afterAll. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = c;
    await waitFor(() => tcpAnswers('127.0.0.1', port, 500), { timeoutMs: 10_000, message: `private redis on ${port}` });
  };
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    restartEmpty: async () => {
      await stop();
      await start();
    },
  };
}

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Fast shutdown (pg_ctl stop -m fast). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. Idempotent. */
  destroy(): Promise<void>;
}

function pgBin(name: string): string {
  const found = spawnSync('bash', ['-c', `ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1`], { encoding: 'utf8' }).stdout.trim();
  return found ? join(found, name) : name;
}

/** A throw-away Postgres cluster (initdb, trust auth) on a free loopback port. Destroy it in afterAll. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tinycdp-pg-'));
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // initdb and postgres refuse to run as root: run them as the postgres user then.
  const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const init = await run(...wrap(pgBin('initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']));
  if (init.code !== 0) throw new Error(`initdb failed: ${init.out.slice(-2000)}`);
  let destroyed = false;
  const start = async (): Promise<void> => {
    const r = await run(
      ...wrap(pgBin('pg_ctl'), [
        '-D',
        dir,
        '-l',
        join(dir, 'postgres.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        'start',
      ]),
    );
    if (r.code !== 0) throw new Error(`private postgres did not start: ${r.out.slice(-2000)}`);
  };
  const stop = async (): Promise<void> => {
    await run(...wrap(pgBin('pg_ctl'), ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop']));
  };
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateKafka {
  readonly port: number;
  readonly brokers: string[];
  /** scripts/kafka.sh stop (controlled shutdown, SIGKILL after 30 s). Data is kept. */
  stop(): Promise<void>;
  /** scripts/kafka.sh start on the same ports and data (topics and offsets survive). */
  start(): Promise<void>;
  /** Stops the broker and deletes its data directory. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * A second single-node Kafka through scripts/kafka.sh (cached jars, own data dir and ports). Takes
 * 15-60 s to be ready on a busy machine; give the hook a generous timeout. Destroy it in afterAll.
 */
export async function startPrivateKafka(): Promise<PrivateKafka> {
  const port = await freePort();
  let controller = await freePort();
  while (controller === port) controller = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tinycdp-kafka-'));
  const env = {
    ...process.env,
    TINYCDP_KAFKA_PORT: String(port),
    TINYCDP_KAFKA_CONTROLLER_PORT: String(controller),
    TINYCDP_KAFKA_DIR: dir,
  };
  const script = join(REPO_DIR, 'scripts/kafka.sh');
  const start = async (): Promise<void> => {
    const r = await run('bash', [script, 'start'], env);
    if (r.code !== 0) throw new Error(`private kafka did not start: ${r.out.slice(-3000)}`);
  };
  const stop = async (): Promise<void> => {
    const r = await run('bash', [script, 'stop'], env);
    if (r.code !== 0) throw new Error(`private kafka did not stop: ${r.out.slice(-2000)}`);
  };
  let destroyed = false;
  await start();
  return {
    port,
    brokers: [`127.0.0.1:${port}`],
    start,
    stop,
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await run('bash', [script, 'stop'], env).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
