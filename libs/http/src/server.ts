import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

export interface ServerTimeouts {
  /** A client must have sent every request header within this (slowloris guard). Default 10 000 ms. */
  readonly headersTimeoutMs?: number;
  /** A client must have sent the whole request (headers + body) within this. Default 60 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 65 000 ms (above common LB idle timeouts). */
  readonly keepAliveTimeoutMs?: number;
  /** How often Node checks the two timeouts above (Node's default is 30 s, which would stretch them). Default 1 000 ms. */
  readonly checkIntervalMs?: number;
}

export const DEFAULT_SERVER_TIMEOUTS: Required<ServerTimeouts> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  checkIntervalMs: 1_000,
});

/**
 * Starts `app` on `port` (0 = any free port) at `host`; resolves once listening. The server closes
 * connections that trickle their headers (slowloris) after `headersTimeoutMs` and requests not fully
 * received after `requestTimeoutMs` (Node answers 408 and closes).
 */
export function startServer(app: Express, port = 0, host = '127.0.0.1', timeouts: ServerTimeouts = {}): Promise<RunningServer> {
  const t = { ...DEFAULT_SERVER_TIMEOUTS, ...timeouts };
  return new Promise((resolve, reject) => {
    const server = createServer(
      {
        headersTimeout: t.headersTimeoutMs,
        requestTimeout: t.requestTimeoutMs,
        keepAliveTimeout: t.keepAliveTimeoutMs,
        connectionsCheckingInterval: t.checkIntervalMs,
      },
      app,
    );
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve({
        server,
        port: addr.port,
        url: `http://${host}:${addr.port}`,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((e) => (e ? rej(e) : res()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
