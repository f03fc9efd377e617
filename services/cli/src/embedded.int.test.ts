import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@tinycdp/testkit';
import { runSeedWalkthrough } from './compose/seed-walkthrough';

// `npm start` as a newcomer runs it: a child process, embedded backends, a fresh data dir. The seed
// walk-through runs over HTTP; then the process is SIGKILLed right after events were accepted, restarted,
// and every accepted event must still be counted (state is rebuilt from the durable local log).
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const adminKey = `tcdp_embedded_${Date.now()}_0123456789`;
let dataDir = '';
let child: ChildProcess | null = null;

async function start(): Promise<string> {
  await rm(join(dataDir, 'server.json'), { force: true });
  child = spawn(process.execPath, ['--import', 'tsx', main, 'start', '--port', '0'], {
    env: { ...process.env, KAFKA_BROKERS: '', REDIS_URL: '', DATABASE_URL: '', TINYCDP_DATA_DIR: dataDir, TINYCDP_ADMIN_KEY: adminKey, HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let url = '';
  await waitFor(
    async () => {
      const info = JSON.parse(await readFile(join(dataDir, 'server.json'), 'utf8')) as { pid: number; port: number };
      if (info.pid !== child!.pid) return false;
      url = `http://127.0.0.1:${info.port}`;
      return (await fetch(`${url}/health`)).status === 200;
    },
    { timeoutMs: 120_000, intervalMs: 250, message: 'tinycdp start to answer /health' },
  );
  return url;
}

const auth = { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' };

afterAll(async () => {
  child?.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start (embedded mode)', () => {
  it('runs the seed walk-through and keeps every accepted event across a SIGKILL', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tinycdp-embedded-'));
    let url = await start();
    const walk = await runSeedWalkthrough(url, adminKey);
    expect(walk.decisions.afterThree).toMatchObject({ enabled: true });

    expect((await fetch(`${url}/v1/admin/traits`, { method: 'POST', headers: auth, body: JSON.stringify({ key: 'buys', expression: 'events.purchase.count_30d' }) })).status).toBe(201);
    let accepted = 0;
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 20 }, (_, j) => ({ type: 'track', userId: 'u-kill', event: 'purchase', messageId: `k-${i}-${j}` }));
      const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ batch }) });
      if (res.status === 200) accepted += 20;
    }
    expect(accepted).toBe(200);
    child!.kill('SIGKILL'); // right after the last 200: nothing may be lost
    await new Promise((r) => child!.once('exit', r));

    url = await start();
    await waitFor(
      async () => {
        const res = await fetch(`${url}/v1/admin/profiles/u-kill`, { headers: auth });
        if (res.status !== 200) return false;
        const body = (await res.json()) as { traits: Record<string, unknown> };
        return body.traits.buys === accepted;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `u-kill to have ${accepted} purchases after the restart` },
    );
    const d = await fetch(`${url}/v1/decide?userId=user123&flag=premium_features`, { headers: auth });
    expect(await d.json()).toMatchObject({ enabled: true });
  }, 300_000);
});
