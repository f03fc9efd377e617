import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFastServer, MAX_HEAD_BYTES, parseSimpleHead, responseText, type FastRequest } from './fast-http';

const GET = 'GET /v1/decide?userId=u1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer k\r\n';

describe('parseSimpleHead', () => {
  it('reads path, query, authorization and Connection: close of a simple GET', () => {
    expect(parseSimpleHead(`${GET}User-Agent: x/1 (\x80)\r\nAccept: */*`)).toEqual({
      path: '/v1/decide',
      query: 'userId=u1',
      authorization: 'Bearer k',
      close: false,
    });
    expect(parseSimpleHead('GET /v1/decide HTTP/1.1\r\nhost: a\r\nconnection: Close')).toEqual({
      path: '/v1/decide',
      query: '',
      authorization: undefined,
      close: true,
    });
  });

  it.each([
    ['another method', 'POST /v1/decide HTTP/1.1\r\nHost: a'],
    ['HEAD', 'HEAD /v1/decide HTTP/1.1\r\nHost: a'],
    ['HTTP/1.0', 'GET /v1/decide HTTP/1.0\r\nHost: a'],
    ['absolute-form target', 'GET http://a/v1/decide HTTP/1.1\r\nHost: a'],
    ['space in the target', 'GET /v1/de cide HTTP/1.1\r\nHost: a'],
    ['no Host', 'GET /v1/decide HTTP/1.1\r\nAccept: */*'],
    ['two Host headers', 'GET /v1/decide HTTP/1.1\r\nHost: a\r\nHost: b'],
    ['two Authorization headers', `${GET}Authorization: Bearer other`],
    ['a body (Content-Length)', `${GET}Content-Length: 0`],
    ['a body (Transfer-Encoding)', `${GET}Transfer-Encoding: chunked`],
    ['Expect', `${GET}Expect: 100-continue`],
    ['Upgrade', `${GET}Connection: Upgrade\r\nUpgrade: websocket`],
    ['a bare LF line end', 'GET /v1/decide HTTP/1.1\nHost: a'],
    ['a bare LF inside a header', `${GET}X-A: b\nX-B: c`],
    ['obs-fold', `${GET}X-A: b\r\n c`],
    ['a control character in a value', `${GET}X-A: b\x00c`],
    ['a header name that is not a token', `${GET}X A: b`],
    ['a line without a colon', `${GET}garbage`],
  ])('leaves %s to node:http', (_what, head) => {
    expect(parseSimpleHead(head)).toBeNull();
  });
});

describe('responseText', () => {
  it('writes status, JSON headers, byte length, keep-alive or close, then the body', () => {
    const text = responseText({ status: 200, body: '{"v":"é"}' }, false, 65);
    const [head, body] = text.split('\r\n\r\n');
    expect(body).toBe('{"v":"é"}');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines).toContain('content-type: application/json; charset=utf-8');
    expect(lines).toContain('cache-control: no-store');
    expect(lines).toContain('content-length: 10');
    expect(lines).toContain('connection: keep-alive');
    expect(lines).toContain('keep-alive: timeout=65');
    expect(lines.some((l) => /^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/.test(l))).toBe(true);
    expect(responseText({ status: 200, body: '{}' }, true, 65)).toContain('\r\nconnection: close\r\n\r\n{}');
  });

  it('adds the answer headers; its cache-control replaces the default', () => {
    const text = responseText({ status: 401, body: '{}', headers: { 'www-authenticate': 'Bearer', 'cache-control': 'no-cache' } }, false, 5);
    expect(text.startsWith('HTTP/1.1 401 Unauthorized\r\n')).toBe(true);
    expect(text).toContain('\r\nwww-authenticate: Bearer\r\n');
    expect(text).toContain('\r\ncache-control: no-cache\r\n');
    expect(text).not.toContain('no-store');
  });
});

describe('createFastServer', () => {
  let close: () => Promise<void> = async () => {};
  afterEach(() => close());

  /** A front whose route answers /v1/decide with the query (throws on /v1/decide?throw); node:http answers everything else with method, url and body. */
  async function start(httpOptions: { headersTimeout?: number; connectionsCheckingInterval?: number } = {}) {
    const served: FastRequest[] = [];
    let viaNode = 0;
    const http: HttpServer = createHttpServer({ keepAliveTimeout: 5_000, ...httpOptions }, (req, res) => {
      viaNode++;
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const text = JSON.stringify({ node: true, method: req.method, url: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    const front = createFastServer(
      (req) => {
        if (req.path !== '/v1/decide') return null;
        if (req.query === 'throw') throw new Error('route bug');
        served.push(req);
        // Answer later than the next request can arrive, so pipelined requests queue behind it.
        return new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: JSON.stringify({ fast: req.query }) }), 5));
      },
      http,
      { keepAliveTimeoutMs: 5_000 },
    );
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const port = (front.address() as AddressInfo).port;
    close = async () => {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    };
    return { port, served, front, viaNode: () => viaNode };
  }

  /** Raw socket: write, then collect the bodies of `n` responses (by content-length). */
  function client(port: number) {
    const socket: Socket = connect(port, '127.0.0.1');
    let data = '';
    let ended = false;
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('end', () => (ended = true));
    socket.on('error', () => (ended = true));
    const responses = () => {
      const out: { head: string; body: string }[] = [];
      let rest = data;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end === -1) return out;
        const head = rest.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (rest.length < end + 4 + len) return out;
        out.push({ head, body: rest.slice(end + 4, end + 4 + len) });
        rest = rest.slice(end + 4 + len);
      }
    };
    return {
      socket,
      write: (s: string) => socket.write(s, 'latin1'),
      ended: () => ended,
      async read(n: number, timeoutMs = 3_000) {
        const until = Date.now() + timeoutMs;
        while (responses().length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        return responses();
      },
    };
  }

  it('answers GETs of its route on one keep-alive connection, without node:http', async () => {
    const s = await start();
    const c = client(s.port);
    for (let i = 0; i < 3; i++) {
      c.write(`GET /v1/decide?userId=u${i} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer k\r\n\r\n`);
      await c.read(i + 1);
    }
    const rs = await c.read(3);
    expect(rs.map((r) => JSON.parse(r.body))).toEqual([{ fast: 'userId=u0' }, { fast: 'userId=u1' }, { fast: 'userId=u2' }]);
    expect(rs[0]!.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(s.served.map((r) => r.authorization)).toEqual(['Bearer k', 'Bearer k', 'Bearer k']);
    expect(s.viaNode()).toBe(0);
    expect(c.ended()).toBe(false);
    c.socket.destroy();
  });

  it('answers pipelined requests in order, and hands the connection over at the first it does not serve', async () => {
    const s = await start();
    const c = client(s.port);
    c.write(
      'GET /v1/decide?n=1 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'GET /v1/decide?n=2 HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /other HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /v1/decide?n=3 HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const rs = (await c.read(4)).map((r) => JSON.parse(r.body));
    expect(rs).toEqual([
      { fast: 'n=1' },
      { fast: 'n=2' },
      { node: true, method: 'POST', url: '/other', body: 'hello' },
      // After the hand-over node:http serves the rest of the connection, the route's path included.
      { node: true, method: 'GET', url: '/v1/decide?n=3', body: '' },
    ]);
    c.socket.destroy();
  });

  it('hands over a head that arrives in pieces; node:http reads it whole', async () => {
    const s = await start();
    const c = client(s.port);
    c.write('GET /v1/decide?n=1 HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 30));
    c.write('st: a\r\n\r\n');
    const rs = await c.read(1);
    expect(JSON.parse(rs[0]!.body)).toEqual({ node: true, method: 'GET', url: '/v1/decide?n=1', body: '' });
    expect(s.served).toHaveLength(0);
    c.socket.destroy();
  });

  it('leaves malformed and oversized heads to node:http, which rejects them', async () => {
    const s = await start();
    const bad = client(s.port);
    bad.write('GET /v1/decide HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n');
    expect((await bad.read(1))[0]!.head).toMatch(/^HTTP\/1\.1 400 /);
    const big = client(s.port);
    big.write(`GET /v1/decide HTTP/1.1\r\nHost: a\r\nX-Pad: ${'x'.repeat(MAX_HEAD_BYTES + 100)}\r\n\r\n`);
    expect((await big.read(1))[0]!.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(s.served).toHaveLength(0);
  });

  it('closes after answering a request with Connection: close', async () => {
    const s = await start();
    const c = client(s.port);
    c.write('GET /v1/decide?n=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const rs = await c.read(1);
    expect(rs[0]!.head).toContain('connection: close');
    const until = Date.now() + 2_000;
    while (!c.ended() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(c.ended()).toBe(true);
    expect(s.served).toHaveLength(1);
  });

  it('a route that throws drops that connection only; the server keeps serving', async () => {
    const s = await start();
    const bad = client(s.port);
    bad.write('GET /v1/decide?throw HTTP/1.1\r\nHost: a\r\n\r\n');
    const until = Date.now() + 2_000;
    while (!bad.ended() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(bad.ended()).toBe(true);
    const good = client(s.port);
    good.write('GET /v1/decide?n=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(JSON.parse((await good.read(1))[0]!.body)).toEqual({ fast: 'n=1' });
    good.socket.destroy();
  });

  it('answers a client that half-closes right after its request, then closes', async () => {
    const s = await start();
    const c = client(s.port);
    c.write('GET /v1/decide?n=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    c.socket.end();
    expect(JSON.parse((await c.read(1))[0]!.body)).toEqual({ fast: 'n=1' });
    const until = Date.now() + 2_000;
    while (!c.ended() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(c.ended()).toBe(true);
  });

  it("a handed-over connection keeps node:http's header timeout (slowloris)", async () => {
    const s = await start({ headersTimeout: 300, connectionsCheckingInterval: 50 });
    const c = client(s.port);
    c.write('GET /v1/decide HTTP/1.1\r\nHost: a\r\n');
    const until = Date.now() + 3_000;
    while (!c.ended() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(c.ended()).toBe(true);
    expect((await c.read(1, 100))[0]?.head ?? '').toMatch(/^HTTP\/1\.1 408 /);
  });

  it('serves a real client (fetch), and closeAllConnections drops every connection', async () => {
    const s = await start();
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`http://127.0.0.1:${s.port}/v1/decide?i=${i}`, { headers: { authorization: 'Bearer k' } });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await r.json()).toEqual({ fast: `i=${i}` });
    }
    const other = await fetch(`http://127.0.0.1:${s.port}/health`);
    expect(await other.json()).toEqual({ node: true, method: 'GET', url: '/health', body: '' });
    const idleFast = client(s.port);
    idleFast.write('GET /v1/decide HTTP/1.1\r\nHost: a\r\n\r\n');
    const idleNode = client(s.port);
    idleNode.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await Promise.all([idleFast.read(1), idleNode.read(1)]);
    s.front.closeAllConnections();
    const until = Date.now() + 2_000;
    while (!(idleFast.ended() && idleNode.ended()) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect([idleFast.ended(), idleNode.ended()]).toEqual([true, true]);
  });
});
