import { defineCommand } from '../internal/define-command';
import { UsageError } from '../internal/errors';

const SERVICES = ['ingest', 'processor', 'decide', 'admin'] as const;

/** Runs one service alone (scale-out); each service's main.ts reads its own configuration. */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run one service alone: ingest | processor | decide | admin (real backends)',
  usage: `Usage: tinycdp serve <ingest|processor|decide|admin>

Runs one service in this process against the real backends (KAFKA_BROKERS, REDIS_URL,
DATABASE_URL as that service needs). Scale out by running several: processors share the
events topic's partitions through a consumer group; ingest and decide are stateless.`,
  async run(args) {
    const name = args.positional[0];
    if (!name || !(SERVICES as readonly string[]).includes(name)) {
      throw new UsageError(`expected one of ${SERVICES.join(', ')}, got ${name ?? 'nothing'}`);
    }
    const mod = (await import(`../../../${name}/src/main.ts`)) as { startAdmin?: (env: NodeJS.ProcessEnv) => Promise<unknown> };
    // admin's main exports startAdmin and only self-starts when it is the entry script.
    if (name === 'admin' && mod.startAdmin) await mod.startAdmin(process.env);
    await new Promise<never>(() => undefined); // the service's own signal handlers end the process
    return 0;
  },
});
