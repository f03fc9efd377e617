import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from './errors';

/** `TINYCDP_DATA_DIR`, default `./.tinycdp`, as an absolute path (relative to the working directory). */
export function resolveDataDir(env: Record<string, string | undefined>): string {
  const dir = env.TINYCDP_DATA_DIR?.trim();
  return resolve(dir ? dir : '.tinycdp');
}

/** Where the embedded config store (PGlite) lives inside the data dir. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'pglite');
}

export function serverInfoPath(dataDir: string): string {
  return join(dataDir, 'server.json');
}

/** What a running all-in-one server writes to `<dataDir>/server.json` (mode 0600). */
export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly controlToken: string;
}

export type ServerLookup =
  | { readonly state: 'none' }
  /** server.json exists but its pid is gone (crash, kill -9): the store is free. */
  | { readonly state: 'stale'; readonly path: string; readonly pid: number }
  | { readonly state: 'running'; readonly path: string; readonly info: ServerInfo };

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads `<dataDir>/server.json`. `running` when its pid is alive. Throws CliError when the file
 * exists but is not valid (the CLI must not guess whether the embedded store is in use).
 */
export function findRunningServer(dataDir: string, alive: (pid: number) => boolean = isPidAlive): ServerLookup {
  const path = serverInfoPath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const info = parseServerInfo(text);
  if (!info) {
    throw new CliError(
      `${path} is not valid (expected {"pid", "port", "controlToken"}). If no TinyCDP server is running, delete it.`,
    );
  }
  return alive(info.pid) ? { state: 'running', path, info } : { state: 'stale', path, pid: info.pid };
}

export function parseServerInfo(text: string): ServerInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { pid, port, controlToken } = v as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return null;
  if (!Number.isSafeInteger(port) || (port as number) <= 0 || (port as number) > 65_535) return null;
  if (typeof controlToken !== 'string' || controlToken.length === 0) return null;
  return { pid: pid as number, port: port as number, controlToken };
}
