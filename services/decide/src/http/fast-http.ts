/**
 * The lean HTTP/1.1 front of decide: answers the simplest, most frequent request — a keep-alive
 * `GET` with no body, e.g. `GET /v1/decide?userId=…&flag=…` — straight off the socket, and hands every
 * other connection to node:http unchanged.
 *
 * Why: node:http builds an IncomingMessage and a ServerResponse (two streams) per request, runs the
 * header machinery and `finish` events. bench/decide.ts runs decide on this front and on node:http
 * (same handlers, same run); first runs on a 2-vCPU VM: 62 vs 75 and 77 vs 92 µs of server CPU per
 * request at the max rate, 1.34× / 1.26× the requests per second. Everything else — POST, OFREP, health, metrics, HTTP/1.0, bodies, malformed or
 * oversized or split heads, Expect/Upgrade — goes to node:http, which implements HTTP fully.
 *
 * How a connection moves: the front reads whole request heads from the socket. A head it accepts is
 * answered by `route` (which may also decline by returning null). At the first head it does not accept
 * (or does not have whole), with no answer of its own pending, it stops reading, puts the unread bytes
 * back (`socket.unshift`) and emits the socket as a `connection` of the node:http server: from there on
 * node:http owns the connection (timeouts, limits, errors, keep-alive). Requests are answered in order;
 * one at a time per connection.
 *
 * Accepted heads are strict: `GET <origin-form target> HTTP/1.1`, CRLF line ends only, token header
 * names, no control characters, exactly one Host, at most one Authorization, no Content-Length,
 * Transfer-Encoding, Expect or Upgrade, at most 16 KB. Anything looser is node:http's to accept or
 * reject, so the two never frame a request differently.
 */
import { STATUS_CODES, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Answer } from './io';

export interface FastRequest {
  /** The path, without the query. */
  readonly path: string;
  /** The raw query after `?` ('' without one). */
  readonly query: string;
  /** The Authorization header, if sent. */
  readonly authorization: string | undefined;
}

/** Answers a request it serves, or returns null: the connection then goes to node:http with it. */
export type FastRoute = (req: FastRequest) => Promise<Answer> | null;

export interface FastHttpOptions {
  /** Idle time after which a keep-alive connection is closed (node:http's keepAliveTimeout). */
  readonly keepAliveTimeoutMs: number;
}

/** node:http's default limit on a request head (--max-http-header-size). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Unread bytes a connection may hold while an answer is pending before reading pauses. */
const MAX_BUFFERED = 64 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII only (no space, no control character, nothing above 0x7e).
const TARGET = /^\/[\x21-\x7e]*$/;
// Field values: HTAB, visible ASCII and obs-text; no other control character.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parses a request head (the bytes before the blank line, latin1) the front serves; null for anything
 * it leaves to node:http.
 */
export function parseSimpleHead(head: string): (FastRequest & { readonly close: boolean }) | null {
  if (!head.startsWith('GET /')) return null;
  let eol = head.indexOf('\r\n');
  if (eol === -1) eol = head.length;
  const sp = head.lastIndexOf(' ', eol);
  if (sp <= 4 || head.slice(sp + 1, eol) !== 'HTTP/1.1') return null;
  const target = head.slice(4, sp);
  if (!TARGET.test(target)) return null;
  let host = 0;
  let authorization: string | undefined;
  let close = false;
  let at = eol + 2;
  while (at < head.length) {
    let end = head.indexOf('\r\n', at);
    if (end === -1) end = head.length;
    const line = head.slice(at, end);
    at = end + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return null;
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) return null;
    switch (name.toLowerCase()) {
      case 'host':
        host++;
        break;
      case 'authorization':
        if (authorization !== undefined) return null;
        authorization = value;
        break;
      case 'connection': {
        const opts = value.toLowerCase();
        if (opts.includes('upgrade')) return null;
        if (opts.includes('close')) close = true;
        break;
      }
      case 'content-length':
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return null;
    }
  }
  if (host !== 1) return null;
  const q = target.indexOf('?');
  return {
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    authorization,
    close,
  };
}

let dateSecond = -1;
let dateHeader = '';
/** The Date header value, rebuilt at most once a second (as node:http does). */
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateHeader = new Date(now).toUTCString();
  }
  return dateHeader;
}

/** The whole response (head and body) as one string, for one socket write. */
export function responseText(a: Answer, close: boolean, keepAliveSeconds: number): string {
  let head = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n`;
  let cacheControl = 'no-store';
  if (a.headers !== undefined) {
    for (const k in a.headers) {
      if (k === 'cache-control') cacheControl = a.headers[k]!;
      else head += `${k}: ${a.headers[k]}\r\n`;
    }
  }
  head += `cache-control: ${cacheControl}\r\ncontent-length: ${Buffer.byteLength(a.body)}\r\ndate: ${httpDate()}\r\n`;
  head += close ? 'connection: close\r\n\r\n' : `connection: keep-alive\r\nkeep-alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  return head + a.body;
}

class FastConnection {
  /** Unread bytes (latin1: one char per byte, so nothing is lost putting them back). */
  private buffered = '';
  private pending = false;
  private done = false;
  /** The client sent FIN (half-close): answer what it sent, then close. */
  private peerEnded = false;

  constructor(
    private readonly socket: Socket,
    private readonly route: FastRoute,
    private readonly fallback: HttpServer,
    private readonly keepAliveSeconds: number,
    private readonly forget: (c: FastConnection) => void,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(keepAliveSeconds * 1000);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffered += chunk.toString('latin1');
    if (this.pending) {
      if (this.buffered.length > MAX_BUFFERED) this.socket.pause();
      return;
    }
    this.serve();
  };

  private readonly onEnd = (): void => {
    this.peerEnded = true;
    if (!this.pending) this.serve();
  };

  private readonly onTimeout = (): void => {
    if (!this.pending) this.socket.destroy();
  };

  // Errors end the connection ('close' follows); nothing to answer on a broken socket.
  private readonly onError = (): void => {};

  private readonly onClose = (): void => {
    this.done = true;
    this.forget(this);
  };

  /**
   * Answers the whole heads buffered, one at a time; hands the connection over at the first other
   * (after a half-close there is no stream left to hand over: the connection is closed instead).
   */
  private serve(): void {
    while (!this.pending && !this.done && this.buffered !== '') {
      const end = this.buffered.indexOf('\r\n\r\n');
      const head = end === -1 || end > MAX_HEAD_BYTES ? null : parseSimpleHead(this.buffered.slice(0, end));
      const answer = head === null ? null : this.answer(head);
      if (answer === null) {
        if (this.peerEnded) break;
        this.handOver();
        return;
      }
      this.buffered = this.buffered.slice(end + 4);
      this.pending = true;
      answer.then(
        (a) => this.answered(a, head!.close),
        () => this.socket.destroy(),
      );
    }
    if (this.peerEnded && !this.pending && !this.done) {
      this.done = true;
      this.socket.end();
    }
  }

  /** The route's answer; a route that throws (a bug) costs its connection, never the process. */
  private answer(req: FastRequest): Promise<Answer> | null {
    try {
      return this.route(req);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private answered(a: Answer, close: boolean): void {
    this.pending = false;
    if (this.done) return;
    this.socket.write(responseText(a, close, this.keepAliveSeconds));
    if (close) {
      this.done = true;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.serve();
  }

  /** From here on node:http owns the connection, starting with the unread bytes. */
  private handOver(): void {
    this.done = true;
    this.forget(this);
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('timeout', this.onTimeout);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.setTimeout(0);
    s.pause();
    if (this.buffered !== '') s.unshift(Buffer.from(this.buffered, 'latin1'));
    this.buffered = '';
    this.fallback.emit('connection', s);
    // node:http does not resume a socket handed to it paused (it would wait for the head forever).
    s.resume();
  }
}

/**
 * A TCP server answering `route`'s requests itself and every other one through `fallback`, a node:http
 * server that does not listen itself: its connection checks (headersTimeout, requestTimeout) start
 * when this server listens and stop when it closes. `closeAllConnections()` drops every connection, on the front
 * or handed over.
 */
export function createFastServer(route: FastRoute, fallback: HttpServer, opts: FastHttpOptions): Server & { closeAllConnections(): void } {
  const open = new Set<FastConnection>();
  const forget = (c: FastConnection) => open.delete(c);
  const keepAliveSeconds = Math.max(1, Math.round(opts.keepAliveTimeoutMs / 1000));
  // Half-open like node:http's own sockets: a client that sends FIN after its request still gets the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    open.add(new FastConnection(socket, route, fallback, keepAliveSeconds, forget));
  });
  server.on('listening', () => fallback.emit('listening'));
  server.on('close', () => fallback.close());
  return Object.assign(server, {
    closeAllConnections() {
      for (const c of open) c.destroy();
      open.clear();
      fallback.closeAllConnections();
    },
  });
}
