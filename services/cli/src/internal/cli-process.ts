// Test support: runs `tinycdp <args>` as a child process (tsx, as bin/tinycdp.js does) and records its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cliMain = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr lines so far. */
  readonly lines: string[];
  /** Lines that parse as JSON objects (pino logs). */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | null>;
}

export function spawnCli(args: readonly string[], env: Record<string, string | undefined>): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.trim() !== ''));
    });
    stream?.on('end', () => {
      if (rest.trim() !== '') lines.push(rest);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    logs() {
      const out: Record<string, unknown>[] = [];
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        try {
          out.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
      return out;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
