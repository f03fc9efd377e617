// Container health probe (Dockerfile HEALTHCHECK and compose healthchecks): GET http://127.0.0.1:$PORT<path>,
// exit 0 on a 2xx answer within the timeout, 1 otherwise. Plain Node (global fetch), no dependencies, so it
// works in the slim runtime image without curl/wget.
//   node deploy/healthcheck.mjs [path=/health]
const path = process.argv[2] ?? '/health';
const port = process.env.PORT ?? '4000';
const url = `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 3000)) });
  if (!res.ok) console.error(`${url} -> ${res.status} ${(await res.text()).slice(0, 500)}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`${url} -> ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
