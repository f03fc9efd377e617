import pino from 'pino';
import { defineCommand } from '../internal/define-command';
import { CliError } from '../internal/errors';
import { println } from '../internal/io';
import { findRunningServer, resolveDataDir } from '../internal/data-dir';
import { ProgressReporter } from '../internal/progress';
import { rebuildRedisState } from '../compose/redis-rebuild';

export const rebuildCommand = defineCommand({
  name: 'rebuild',
  summary: 'replay the event log into fresh profile state (embedded server, or Redis)',
  usage: `Usage: tinycdp rebuild

Profile state is a view of the event log; this rebuilds it.
- Embedded (a \`tinycdp start\` server runs on this data dir): the server replays the log into a
  fresh in-memory state beside the live one and switches over atomically when it has caught up.
  (A server whose state is in Redis refuses: stop it and use the Redis path below.)
- Redis (KAFKA_BROKERS and REDIS_URL set): stop the processors first. The log is replayed from the
  beginning into staging keys (<TINYCDP_REDIS_PREFIX>rebuild:…), subscribers get only the segment
  changes they were not told yet, then one MULTI/EXEC replaces the live state with the staged one
  (decide answers from the old state until then). The processors' group (TINYCDP_PROCESSOR_GROUP)
  resumes after the replay. Needs a standalone Redis primary (not Redis Cluster).`,
  async run(_args, env, io) {
    const server = findRunningServer(resolveDataDir(env));
    if (server.state === 'running') {
      const { port, controlToken } = server.info;
      println(io.stdout, `rebuilding the state of the server on port ${port}…`);
      const res = await fetch(`http://127.0.0.1:${port}/internal/v1/rebuild`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${controlToken}` },
      });
      const body = (await res.json().catch(() => ({}))) as { ms?: number; error?: { message?: string } };
      if (!res.ok) throw new CliError(body.error?.message ?? `server answered ${res.status}`);
      println(io.stdout, `rebuilt and switched over in ${body.ms} ms`);
      return 0;
    }
    if (!env.KAFKA_BROKERS || !env.REDIS_URL) {
      throw new CliError('nothing to rebuild: no embedded server runs on this data dir, and KAFKA_BROKERS / REDIS_URL are not both set');
    }
    let progress: ProgressReporter | null = null;
    const r = await rebuildRedisState({
      brokers: env.KAFKA_BROKERS.split(','),
      redisUrl: env.REDIS_URL,
      topicPrefix: env.TINYCDP_TOPIC_PREFIX ?? 'tinycdp.',
      redisPrefix: env.TINYCDP_REDIS_PREFIX ?? 'tinycdp:',
      group: env.TINYCDP_PROCESSOR_GROUP ?? 'tinycdp-processor',
      logger: pino({ level: env.LOG_LEVEL ?? 'warn' }),
      onProgress: (done, total) => {
        progress ??= new ProgressReporter(io.stdout, { total, unit: 'events', label: 'rebuild' });
        if (done > progress.count) progress.add(done - progress.count);
      },
    });
    (progress as ProgressReporter | null)?.finish();
    println(io.stdout, `rebuilt ${r.profiles} profiles from ${r.events} events; ${r.changes} segment changes published`);
    return 0;
  },
});
