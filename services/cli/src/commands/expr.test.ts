import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../internal/capture-io';
import { exprCommand } from './expr';

const run = async (...argv: string[]) => {
  const io = captureIo();
  const code = await exprCommand.runWith(argv, {}, io);
  return { code, out: io.out(), err: io.err() };
};

describe('tinycdp expr check', () => {
  it('a valid trait: exit 0, type and requirements', async () => {
    const r = await run('check', 'events.purchase.count_30d >= 3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('✓ valid trait expression');
    expect(r.out).toMatch(/type\s+boolean/);
    expect(r.out).toMatch(/aggregates\s+events\.purchase\.count_30d/);
    expect(r.out).toMatch(/time-based\s+yes/);
  });

  it('a syntax error: exit 1 with the diagnostic and a caret under the problem', async () => {
    const r = await run('check', 'events.purchase.count_30d >= ');
    expect(r.code).toBe(1);
    expect(r.out).toContain('error[unexpected_end] 1:29:');
    expect(r.out).toContain('events.purchase.count_30d >= \n                            ^\n');
    expect(r.out).toContain('✗ invalid trait expression (1 error)');
  });

  it('unknown names fail without context and pass with --traits/--segments', async () => {
    const bad = await run('check', 'frequent_buyer == true', '--kind', 'segment');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("unknown name 'frequent_buyer'");
    expect(bad.out).toContain('^^^^^^^^^^^^^^');
    expect(bad.out).toContain('hint:');
    const ok = await run('check', 'frequent_buyer == true', '--kind', 'segment', '--traits', 'frequent_buyer:boolean');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/traits\s+frequent_buyer/);
    const flag = await run(
      'check',
      'segment("recent_buyers") && trait("total_spent") >= 500',
      '--kind',
      'flag',
      '--segments',
      'recent_buyers',
      '--traits',
      'total_spent:number',
    );
    expect(flag.code).toBe(0);
    expect(flag.out).toMatch(/segments\s+recent_buyers/);
  });

  it('segment rules must be boolean', async () => {
    const r = await run('check', 'events.purchase.sum(properties.amount, 90d)', '--kind', 'segment');
    expect(r.code).toBe(1);
    expect(r.out).toContain('error[not_boolean]');
    // requirements still come from a lenient compile
    expect(r.out).toMatch(/aggregates\s+events\.purchase\.sum/);
  });

  it('--json prints the machine form', async () => {
    const r = await run('check', '--json', 'profile.plan in ["premium", "enterprise"]', '--kind', 'segment');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ valid: true, kind: 'segment', type: 'boolean', diagnostics: [] });
    expect(j.requirements.profile).toEqual(['profile.plan']);
  });

  it('usage errors exit 2', async () => {
    expect((await run('check')).code).toBe(2);
    expect((await run('check', 'a', 'b')).code).toBe(2);
    expect((await run('check', 'x > 1', '--kind', 'rule')).code).toBe(2);
    expect((await run('check', 'x > 1', '--traits', 'x:float')).code).toBe(2);
    expect((await run('check', 'x > 1', '--key', 'k')).code).toBe(2);
    expect((await run('nope')).code).toBe(2);
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: tinycdp expr check');
  });

  it('--url: unreachable server is a clear failure (exit 1)', async () => {
    const r = await run('check', 'x > 1', '--url', 'http://127.0.0.1:9', '--key', 'k');
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot reach TinyCDP at http://127.0.0.1:9');
  });
});

describe('through the real entry point', () => {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('exit codes 0 / 1 / 2 and output on stdout / stderr', () => {
    const ok = cli('expr', 'check', 'events.app_open.unique_days_14d >= 5');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('✓ valid trait expression');
    const bad = cli('expr', 'check', 'trait("total_spent") >= ', '--kind', 'flag');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('^');
    const usage = cli('expr', 'check', '--kind');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--kind needs a value');
  }, 120_000);
});
