/**
 * HTTP load generator, run in its own process by http-load.ts (so its CPU is not the server's).
 * Keep-alive connections over raw node:net sockets with a minimal HTTP/1.1 response reader: the
 * node:http client costs about as much CPU per request as the server under test, which on a small
 * box would cap what we can measure. Loopback only; every response must carry Content-Length (all
 * routes under test do).
 *
 * Modes:
 * - closed: `concurrency` connections, each sends its next request when the previous answer arrived
 *   (max throughput);
 * - open: requests are due at a constant `rate` whatever the answers (latency at a given load). A due
 *   request waits for an idle connection if all `maxConnections` are busy; that wait counts in its
 *   latency (measured from when it was due, so a slow server cannot hide behind the generator).
 *
 * Input: JSON config in argv[2], or `@<file>` holding it (large request sets). Output: one JSON line (LoadResult) on stdout.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export interface LoadConfig {
  readonly host: string;
  readonly port: number;
  /** Raw requests, used round robin. */
  readonly requests: readonly string[];
  readonly mode: 'closed' | 'open';
  readonly concurrency: number;
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxConnections: number;
}

export interface LoadResult {
  readonly completed: number;
  /** Every answer received, warm-up included (for CPU-per-request accounting). */
  readonly total: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Open mode: requests that had to wait for a free connection. */
  readonly queued: number;
}

type Done = (status: number) => void;

class Conn {
  private readonly sock: Socket;
  private chunks: Buffer[] = [];
  private size = 0;
  private onDone: Done | null = null;
  busy = false;
  broken = false;

  constructor(host: string, port: number, onError: () => void) {
    this.sock = connect({ host, port, noDelay: true });
    this.sock.on('data', (d: Buffer) => this.data(d));
    this.sock.on('error', () => {
      this.broken = true;
      onError();
    });
    this.sock.on('close', () => {
      this.broken = true;
      const cb = this.onDone;
      this.onDone = null;
      this.busy = false;
      if (cb) cb(0);
    });
  }

  send(req: Buffer, done: Done): void {
    this.busy = true;
    this.onDone = done;
    this.sock.write(req);
  }

  private data(d: Buffer): void {
    this.chunks.push(d);
    this.size += d.length;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const headerEnd = buf.indexOf('\r\n\r\n');
    if (headerEnd === -1) return;
    const head = buf.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = m ? Number(m[1]) : 0;
    const total = headerEnd + 4 + length;
    if (buf.length < total) {
      this.chunks = [buf];
      return;
    }
    this.chunks = buf.length > total ? [buf.subarray(total)] : [];
    this.size = buf.length - total;
    const cb = this.onDone;
    this.onDone = null;
    this.busy = false;
    if (cb) cb(status);
  }

  close(): void {
    this.sock.destroy();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function summarize(lat: number[], total: number, seconds: number, non2xx: number, errors: number, queued: number): LoadResult {
  const sorted = Float64Array.from(lat).sort();
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    completed: lat.length,
    total,
    seconds: r3(seconds),
    rps: Math.round(lat.length / seconds),
    p50_ms: r3(percentile(sorted, 50)),
    p90_ms: r3(percentile(sorted, 90)),
    p99_ms: r3(percentile(sorted, 99)),
    p999_ms: r3(percentile(sorted, 99.9)),
    max_ms: r3(sorted.length ? sorted[sorted.length - 1]! : NaN),
    non2xx,
    errors,
    queued,
  };
}

export function runLoadInProcess(cfg: LoadConfig): Promise<LoadResult> {
  const reqs = cfg.requests.map((r) => Buffer.from(r, 'latin1'));
  let next = 0;
  const nextReq = (): Buffer => reqs[next++ % reqs.length]!;
  const conns: Conn[] = [];
  let errors = 0;
  let non2xx = 0;
  let queued = 0;
  const lat: number[] = [];
  let total = 0;
  const t0 = performance.now();
  const measureFrom = t0 + cfg.warmupMs;
  const end = measureFrom + cfg.durationMs;
  const record = (status: number, startedAt: number): void => {
    const now = performance.now();
    total++;
    if (startedAt < measureFrom || now > end) return;
    if (status === 0) errors++;
    else if (status < 200 || status >= 300) non2xx++;
    lat.push(now - startedAt);
  };

  return new Promise((resolve) => {
    const finish = (): void => {
      for (const c of conns) c.close();
      resolve(summarize(lat, total, cfg.durationMs / 1000, non2xx, errors, queued));
    };

    if (cfg.mode === 'closed') {
      const loop = (c: Conn): void => {
        if (performance.now() > end || c.broken) return;
        const startedAt = performance.now();
        c.send(nextReq(), (status) => {
          record(status, startedAt);
          loop(c);
        });
      };
      for (let i = 0; i < cfg.concurrency; i++) {
        const c = new Conn(cfg.host, cfg.port, () => errors++);
        conns.push(c);
        loop(c);
      }
      setTimeout(finish, end - t0 + 50);
      return;
    }

    // Open loop.
    const interval = 1000 / cfg.rate;
    const waiting: number[] = []; // due times of requests waiting for a connection
    let waitHead = 0;
    const free: Conn[] = []; // idle connections (a stack: hot sockets are reused first)
    let scheduled = 0;
    const dispatch = (c: Conn, dueAt: number): void => {
      c.send(nextReq(), (status) => {
        record(status, dueAt);
        if (c.broken) return;
        if (waitHead < waiting.length) dispatch(c, waiting[waitHead++]!);
        else free.push(c);
      });
    };
    const idle = (): Conn | null => {
      const c = free.pop();
      if (c !== undefined) return c;
      if (conns.length < cfg.maxConnections) {
        const fresh = new Conn(cfg.host, cfg.port, () => errors++);
        conns.push(fresh);
        return fresh;
      }
      return null;
    };
    const tick = (): void => {
      const now = performance.now();
      if (now > end) {
        setTimeout(finish, 200);
        return;
      }
      const due = Math.floor((now - t0) / interval);
      while (scheduled < due) {
        scheduled++;
        const c = idle();
        if (c) dispatch(c, now);
        else {
          queued++;
          waiting.push(now);
        }
      }
      setTimeout(tick, 1);
    };
    // Open the first connections before the clock starts mattering.
    for (let i = 0; i < Math.min(cfg.concurrency, cfg.maxConnections); i++) {
      const c = new Conn(cfg.host, cfg.port, () => errors++);
      conns.push(c);
      free.push(c);
    }
    setTimeout(tick, 1);
  });
}

if (process.argv[2] && process.argv[1]?.endsWith('http-load-worker.ts')) {
  const arg = process.argv[2];
  const cfg = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) as LoadConfig;
  runLoadInProcess(cfg).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
