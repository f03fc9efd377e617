import { defineCommand } from '../internal/define-command';
import { println } from '../internal/io';
import { startAllInOne } from '../compose/all-in-one';

export const startCommand = defineCommand({
  name: 'start',
  summary: 'run every service in one process on one port (embedded backends unless URLs are set)',
  usage: `Usage: tinycdp start [--port <n>] [--data-dir <dir>]

Runs ingest, processor, decide and admin in one process (default port 4000).
Backends: KAFKA_BROKERS, REDIS_URL and DATABASE_URL switch each one from embedded to real;
without them TinyCDP keeps a durable event log and PGlite under TINYCDP_DATA_DIR (./.tinycdp)
and rebuilds profile state from the log at start-up.
On the first start without TINYCDP_ADMIN_KEY an admin key is created and printed once.`,
  options: ['port', 'data-dir'],
  async run(args, env, io) {
    const overrides: Record<string, string> = {};
    if (typeof args.flags.port === 'string') overrides.PORT = args.flags.port;
    if (typeof args.flags['data-dir'] === 'string') overrides.TINYCDP_DATA_DIR = args.flags['data-dir'];
    const running = await startAllInOne({ ...env, ...overrides });
    println(io.stdout, `TinyCDP is running at ${running.url}  (health: ${running.url}/health)`);
    if (running.bootstrapAdminKey) {
      println(io.stdout, '');
      println(io.stdout, 'First start: an admin API key was created. It is shown only this once:');
      println(io.stdout, `  ${running.bootstrapAdminKey}`);
      println(io.stdout, 'Use it as "Authorization: Bearer <key>"; create more with `npx tinycdp keys create --scope write`.');
      println(io.stdout, '');
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        println(io.stdout, `${signal}: stopping…`);
        running.stop().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
});
