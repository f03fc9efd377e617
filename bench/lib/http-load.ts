/**
 * Runs the HTTP load generator in a child process and returns its result: bench/lib/loadgen.c, built
 * on first use with the machine's C compiler into .cache/bench/ (a few µs of CPU per request, paced
 * by a 50 µs timer), or — where no compiler is found — the node worker http-load-worker.ts (about as
 * much CPU per request as the server under test, open loop paced by 1 ms timers); the result says
 * which (`generator`). Loopback only; bounded by the configured duration (plus a hard kill after 30 s).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, LoadResult as WorkerResult } from './http-load-worker';

export type { LoadConfig };
export interface LoadResult extends WorkerResult {
  /** Which generator ran: the C one, or the node fallback where no C compiler was found. */
  readonly generator: 'c' | 'node';
}

const WORKER = fileURLToPath(new URL('./http-load-worker.ts', import.meta.url));
const LOADGEN_SOURCE = fileURLToPath(new URL('./loadgen.c', import.meta.url));
const BUILD_DIR = fileURLToPath(new URL('../../.cache/bench/', import.meta.url));

let binary: string | null | undefined;

/** The compiled C generator (built once per source version), or null when no compiler is found. */
export function loadgenBinary(): string | null {
  if (binary !== undefined) return binary;
  const source = readFileSync(LOADGEN_SOURCE);
  const out = join(BUILD_DIR, `loadgen-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return (binary = out);
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter((c): c is string => !!c)) {
    try {
      execFileSync(cc, ['-O2', '-Wall', '-o', tmp, LOADGEN_SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, out);
      return (binary = out);
    } catch {
      rmSync(tmp, { force: true });
    }
  }
  console.error('bench: no C compiler (cc/gcc/clang) found: the load generator falls back to node (bench/lib/http-load-worker.ts), which costs the box about as much CPU per request as the server under test');
  return (binary = null);
}

/** A raw keep-alive GET with the given headers. */
export function rawGet(path: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n${extra}\r\n`;
}

export function runLoad(cfg: LoadConfig): Promise<LoadResult> {
  if (cfg.host !== '127.0.0.1' && cfg.host !== 'localhost') throw new Error('load generator is loopback only');
  const bin = loadgenBinary();
  const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
  let command: string;
  let args: string[];
  if (bin) {
    // Requests file: each request as its byte length, a newline, then its bytes.
    const file = join(dir, 'requests');
    writeFileSync(file, Buffer.concat(cfg.requests.flatMap((r) => {
      const b = Buffer.from(r, 'latin1');
      return [Buffer.from(`${b.length}\n`), b];
    })));
    command = bin;
    args = [cfg.host, String(cfg.port), cfg.mode, String(cfg.concurrency), String(cfg.rate), String(cfg.warmupMs), String(cfg.durationMs), String(cfg.maxConnections), file];
  } else {
    // Large request sets (POST bodies) exceed the per-argument limit (128 KB): the config goes in a file.
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(cfg));
    command = process.execPath;
    args = ['--import', 'tsx', WORKER, `@${file}`];
  }
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), cfg.warmupMs + cfg.durationMs + 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      if (code !== 0) return reject(new Error(`load generator (${bin ?? 'node worker'}) exited with ${code}`));
      try {
        resolve({ ...(JSON.parse(out.trim().split('\n').pop()!) as WorkerResult), generator: bin ? 'c' : 'node' });
      } catch (err) {
        reject(new Error(`load generator printed no result: ${out}`, { cause: err }));
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
