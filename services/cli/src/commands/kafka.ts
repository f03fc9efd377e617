import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineCommand } from '../internal/define-command';
import { CliError, UsageError } from '../internal/errors';

/** scripts/kafka.sh at the repository root (this file is services/cli/src/commands/kafka.ts). */
export const KAFKA_SCRIPT = fileURLToPath(new URL('../../../../scripts/kafka.sh', import.meta.url));

const ACTIONS: Readonly<Record<string, string>> = { up: 'start', down: 'stop', status: 'status', logs: 'logs' };

const USAGE = `Usage: tinycdp kafka up|down|status|logs [-f]

A local single-node Apache Kafka (KRaft) for development and tests, via scripts/kafka.sh:
  up       start (fetches the jars once through Maven, formats storage once) and wait until ready
  down     stop (idempotent)
  status   exit 0 when the broker runs, 3 when not
  logs     show the broker log (-f to follow)
Output and exit code are the script's. Environment: TINYCDP_KAFKA_PORT, TINYCDP_KAFKA_DIR, … (see the
header of scripts/kafka.sh). Then: KAFKA_BROKERS=127.0.0.1:9092.`;

/** Runs `bash <script> <args>` with inherited stdio; resolves with its exit code (128+n on signal n). */
export function runScript(script: string, scriptArgs: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...scriptArgs], { stdio: 'inherit', env });
    child.on('error', (err) => reject(new CliError(`cannot run ${script}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? (constants.signals[signal] ?? 1) : 1));
    });
  });
}

export const kafkaCommand = defineCommand({
  name: 'kafka',
  summary: 'start/stop/status of a local Kafka broker (scripts/kafka.sh)',
  usage: USAGE,
  async run(args, env) {
    const [action, ...rest] = args.positional;
    if (action === undefined) throw new UsageError('missing action: up, down, status or logs');
    const mapped = ACTIONS[action];
    if (mapped === undefined) throw new UsageError(`unknown action "${action}": expected up, down, status or logs`);
    const follow = action === 'logs' && rest.length === 1 && rest[0] === '-f';
    if (rest.length > 0 && !follow) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (!existsSync(KAFKA_SCRIPT)) throw new CliError(`${KAFKA_SCRIPT} not found (run from a TinyCDP checkout)`);
    return runScript(KAFKA_SCRIPT, follow ? [mapped, '-f'] : [mapped], env);
  },
});
