/** Where a command writes. Commands take an `Io` so tests can capture output without spawning. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** Writes `text` and a newline. */
export function println(stream: OutStream, text = ''): void {
  stream.write(`${text}\n`);
}
