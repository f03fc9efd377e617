import { connect } from 'node:net';

/** True when a TCP connection to host:port succeeds within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** host/port of `host:port` or of a URL (`redis://…`, `postgres://…`) with the scheme's default port. */
export function endpointOf(address: string, defaultPort: number): { host: string; port: number } {
  if (address.includes('://')) {
    const url = new URL(address);
    return { host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(url.port || defaultPort) };
  }
  const i = address.lastIndexOf(':');
  if (i < 0) return { host: address, port: defaultPort };
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}
