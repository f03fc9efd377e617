/** Raw HTTP/1.1 requests for the load generator (bench/lib/http-load.ts sends them as latin1 bytes). */

/** A keep-alive POST with a JSON body. The body must be ASCII (the worker sends latin1 bytes). */
export function rawPost(path: string, body: string, headers: Record<string, string> = {}): string {
  if (/[^\x00-\x7f]/.test(body)) throw new Error('rawPost: body must be ASCII');
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n${extra}\r\n${body}`
  );
}
