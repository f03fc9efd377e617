/**
 * Where the machine's CPU went during a phase: this process (process.cpuUsage), its load-generator
 * children (given pids), the Kafka broker and Redis (found by their listening port with `ss`), read
 * from /proc/<pid>/stat. On a 2-core box the broker and Redis compete with the code under test, so a
 * ratio alone does not say what limited it. Best effort: unknown pids are simply left out.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

const pidCache = new Map<number, number | null>();

/** Pid of the process listening on `port` (cached: `ss` is a blocking child process). */
export function pidListeningOn(port: number): number | null {
  if (pidCache.has(port)) return pidCache.get(port)!;
  const pid = findPid(port);
  pidCache.set(port, pid);
  return pid;
}

function findPid(port: number): number | null {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 2_000 });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** utime + stime of a process and its reaped children, seconds; null when unreadable. */
export function procCpuSeconds(pid: number): number | null {
  try {
    return ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'), true) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/**
 * CPU seconds of this process' threads so far: the main (JavaScript) thread, and every other thread
 * summed (V8's GC and compiler helpers, worker threads, libuv's pool). From /proc/self/task; null
 * where unreadable (not Linux).
 */
export function threadCpuSeconds(): { main: number; others: number } | null {
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      const t = ticksOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'), false);
      if (Number(tid) === process.pid) main = t;
      else others += t;
    }
    return { main: main / TICKS_PER_S, others: others / TICKS_PER_S };
  } catch {
    return null;
  }
}

/** utime + stime (+ the reaped children's) in clock ticks, from a /proc stat line. */
function ticksOf(stat: string, withChildren: boolean): number {
  // fields[0] is field 3 (state); utime = field 14, stime = 15, cutime 16, cstime 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
}

export interface CpuReport {
  readonly wall_s: number;
  /** CPU seconds per process over the phase, and as a share of one core (cpu_s / wall_s). */
  readonly processes: Record<string, { cpu_s: number; cores: number }>;
}

/**
 * Starts measuring; call the returned function at the end of the phase. The first call looks the
 * broker and Redis pids up (blocking for a few ms): make one before the timed part.
 */
export function cpuMeter(extra: Record<string, number> = {}): () => CpuReport {
  const pids: Record<string, number> = { ...extra };
  const kafka = pidListeningOn(Number((process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0]!.split(':')[1] ?? 9092));
  const redis = pidListeningOn(Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379));
  if (kafka) pids['kafka broker'] = kafka;
  if (redis) pids['redis'] = redis;
  const start = new Map(Object.entries(pids).map(([k, pid]) => [k, procCpuSeconds(pid)]));
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const processes: Record<string, { cpu_s: number; cores: number }> = {};
    const put = (name: string, s: number) => (processes[name] = { cpu_s: Math.round(s * 100) / 100, cores: Math.round((s / wall) * 100) / 100 });
    put('bench process (code under test)', (self.user + self.system) / 1e6);
    for (const [name, pid] of Object.entries(pids)) {
      const a = start.get(name);
      const b = procCpuSeconds(pid);
      if (a !== null && a !== undefined && b !== null) put(name, b - a);
    }
    return { wall_s: Math.round(wall * 100) / 100, processes };
  };
}
