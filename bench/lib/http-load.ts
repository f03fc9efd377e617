/**
 * Runs the HTTP load generator (http-load-worker.ts) in a child process and returns its result.
 * Loopback only; bounded by the configured duration (plus a hard kill after 30 s more).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadResult } from './http-load-worker';

export type { LoadConfig, LoadResult };

const WORKER = fileURLToPath(new URL('./http-load-worker.ts', import.meta.url));

/** A raw keep-alive GET with the given headers. */
export function rawGet(path: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n${extra}\r\n`;
}

export function runLoad(cfg: LoadConfig): Promise<LoadResult> {
  if (cfg.host !== '127.0.0.1' && cfg.host !== 'localhost') throw new Error('load generator is loopback only');
  // Large request sets (POST bodies) exceed the per-argument limit (128 KB): pass those as `@<file>`.
  let arg = JSON.stringify(cfg);
  let dir: string | null = null;
  if (arg.length > 64 * 1024) {
    dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, arg);
    arg = `@${file}`;
  }
  const cleanup = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, arg], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), cfg.warmupMs + cfg.durationMs + 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      if (code !== 0) return reject(new Error(`load worker exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
      } catch (err) {
        reject(new Error(`load worker printed no result: ${out}`, { cause: err }));
      }
    });
  }).finally(cleanup);
}
