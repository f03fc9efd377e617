// Test support: an `Io` that records what a command writes.
import type { Io, OutStream } from './io';

export interface CapturedIo extends Io {
  readonly out: () => string;
  readonly err: () => string;
}

class Recorder implements OutStream {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export function captureIo(opts: { tty?: boolean } = {}): CapturedIo {
  const stdout = new Recorder(opts.tty ?? false);
  const stderr = new Recorder(opts.tty ?? false);
  return { stdout, stderr, out: () => stdout.text, err: () => stderr.text };
}
