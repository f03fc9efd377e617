import { describe, expect, it } from 'vitest';
import { captureIo } from './capture-io';
import { formatCount, formatProgress, formatRate, percentOf, ProgressReporter } from './progress';

describe('progress formatting', () => {
  it('matches the documented TTY line', () => {
    // 1,234 events in 398 ms = 3.1k/s
    expect(formatProgress({ done: 1234, total: 2700, elapsedMs: 398, unit: 'events', width: 10 })).toBe(
      '[#####.....] 45% 1,234/2,700 events 3.1k/s',
    );
  });

  it('formats counts and rates', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(2.5)).toBe('2.5/s');
    expect(formatRate(850.4)).toBe('850/s');
    expect(formatRate(3_000)).toBe('3k/s');
    expect(formatRate(3_149)).toBe('3.1k/s');
    expect(formatRate(250_000)).toBe('250k/s');
    expect(formatRate(1_230_000)).toBe('1.2M/s');
  });

  it('percent rounds down, is 100 only when done, and an empty job is complete', () => {
    expect(percentOf(2699, 2700)).toBe(99);
    expect(percentOf(2700, 2700)).toBe(100);
    expect(percentOf(0, 0)).toBe(100);
    expect(formatProgress({ done: 0, total: 0, elapsedMs: 0, unit: 'events', width: 4 })).toBe('[####] 100% 0/0 events 0/s');
  });
});

describe('ProgressReporter', () => {
  it('on a TTY redraws one line with \\r (throttled) and ends it with a newline', () => {
    const io = captureIo({ tty: true });
    let t = 0;
    const p = new ProgressReporter(io.stderr, { total: 1000, unit: 'events', width: 10, now: () => t });
    t = 1000;
    p.add(500);
    t = 1050; // within the redraw interval: no draw
    p.add(100);
    t = 2000;
    p.finish();
    p.finish();
    expect(io.err()).toBe('\r[#####.....] 50% 500/1,000 events 500/s\r[######....] 60% 600/1,000 events 300/s\n');
  });

  it('without a TTY prints a plain line every 10% and the final state', () => {
    const io = captureIo();
    let t = 0;
    const p = new ProgressReporter(io.stderr, { total: 1000, unit: 'events', label: 'events', now: () => t });
    for (let i = 0; i < 40; i++) {
      t += 100;
      p.add(25);
    }
    p.finish();
    const lines = io.err().trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('events: 10% 100/1,000 events 250/s');
    expect(lines[9]).toBe('events: 100% 1,000/1,000 events 250/s');
  });

  it('without a TTY an aborted run still reports where it stopped', () => {
    const io = captureIo();
    let t = 0;
    const p = new ProgressReporter(io.stderr, { total: 1000, unit: 'events', now: () => t });
    t = 1000;
    p.add(150);
    p.add(10);
    p.finish();
    expect(io.err()).toBe('15% 150/1,000 events 150/s\n16% 160/1,000 events 160/s\n');
  });
});
