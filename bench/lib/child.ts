/** Runs a bench worker script in its own node process (tsx) and returns the JSON of its last stdout line. */
import { fork, spawn } from 'node:child_process';

/**
 * @param file absolute path of the worker (.ts), which reads its JSON config from argv[2]
 * @param hardTimeoutMs the child is SIGKILLed after this long (bounds every run)
 * @throws Error when the child fails, is killed, or prints no JSON.
 */
export function runWorker<T>(file: string, config: unknown, hardTimeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), hardTimeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      if (code !== 0) return reject(new Error(`${file} exited with ${code ?? signal}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch (err) {
        reject(new Error(`${file} printed no result: ${out.slice(0, 500)}`, { cause: err }));
      }
    });
  });
}

/** A long-lived worker driven over IPC: one request at a time, each answered by `{result}` or `{error}`. */
export interface IpcWorker<Req, Res> {
  request(req: Req): Promise<Res>;
  close(): Promise<void>;
}

/**
 * Forks `file` (tsx) with `setup` as argv[2]; resolves once it sent `{ready: true}`. The child is
 * SIGKILLed after `hardTimeoutMs` whatever happens (bounds the whole scenario).
 */
export function forkWorker<Req, Res>(file: string, setup: unknown, hardTimeoutMs: number): Promise<IpcWorker<Req, Res>> {
  const child = fork(file, [JSON.stringify(setup)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = setTimeout(() => child.kill('SIGKILL'), hardTimeoutMs);
  let waiting: { resolve: (r: Res) => void; reject: (e: Error) => void } | null = null;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(kill);
      waiting?.reject(new Error(`${file} exited with ${code ?? signal}`));
      waiting = null;
      resolve();
    }),
  );
  return new Promise((resolveReady, rejectReady) => {
    child.on('error', rejectReady);
    void exit.then(() => rejectReady(new Error(`${file} exited before it was ready`)));
    child.on('message', (m: { ready?: boolean; result?: Res; error?: string }) => {
      if (m.ready) {
        resolveReady({
          request(req: Req) {
            if (exited) return Promise.reject(new Error(`${file} is not running`));
            return new Promise<Res>((resolve, reject) => {
              waiting = { resolve, reject };
              child.send(req as object);
            });
          },
          async close() {
            if (!exited) child.send({ cmd: 'exit' });
            await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000))]);
            if (!exited) child.kill('SIGKILL');
          },
        });
        return;
      }
      const w = waiting;
      waiting = null;
      if (!w) return;
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.result as Res);
    });
  });
}

/**
 * The child side of forkWorker: answers each request in turn with `{result}` or `{error}`; `{cmd:
 * 'exit'}` or a lost parent runs `shutdown` once (it ends the process). Then says `{ready: true}`.
 */
export function serveParent<Req>(answer: (req: Req) => Promise<unknown>, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await shutdown();
  };
  let queue = Promise.resolve();
  process.on('message', (m: Req | { cmd: 'exit' }) => {
    queue = queue.then(async () => {
      if ((m as { cmd?: unknown }).cmd === 'exit') return stop();
      try {
        process.send!({ result: await answer(m as Req) });
      } catch (err) {
        process.send!({ error: String((err as Error)?.stack ?? err) });
      }
    });
  });
  process.on('disconnect', () => void stop());
  process.send!({ ready: true });
}

/** Runs `main` with the JSON setup in argv[2] when the process was started on `file`; exits 1 if it fails. */
export function workerMain<T>(file: string, main: (setup: T) => Promise<void>): void {
  if (!process.argv[2] || !process.argv[1]?.endsWith(file)) return;
  main(JSON.parse(process.argv[2]) as T).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
