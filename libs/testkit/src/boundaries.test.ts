// The architecture rule "core never imports adapters" is only as good as the lint that enforces it:
// this test proves @nx/enforce-module-boundaries really fires with the repo's eslint.config.js.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const RULE = '@nx/enforce-module-boundaries';

async function lintAs(filePath: string, code: string) {
  const eslint = new ESLint({ cwd: repoRoot });
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${filePath}` });
  if (!result) throw new Error('eslint returned no result');
  return result.messages;
}

const importRedis = `import { x } from '@tinycdp/redis';\nexport const y = x;\n`;

describe('module boundaries (eslint.config.js)', () => {
  it('rejects a core lib (libs/dsl, scope:core) importing an adapter (@tinycdp/redis)', async () => {
    const messages = await lintAs('libs/dsl/src/boundary-probe.ts', importRedis);
    const boundary = messages.filter((m) => m.ruleId === RULE);
    expect(boundary).toHaveLength(1);
    expect(boundary[0]?.severity).toBe(2);
    expect(boundary[0]?.message).toMatch(/scope:core/);
  }, 60_000);

  it('allows a service (services/processor, scope:service) to import the same adapter', async () => {
    const messages = await lintAs('services/processor/src/boundary-probe.ts', importRedis);
    expect(messages.filter((m) => m.ruleId === RULE)).toEqual([]);
  }, 60_000);

  it('lets tests of any scope use @tinycdp/testkit, but not production code', async () => {
    const importTestkit = `import { waitFor } from '@tinycdp/testkit';\nexport const w = waitFor;\n`;
    const inTest = await lintAs('services/processor/src/boundary-probe.int.test.ts', importTestkit);
    expect(inTest.filter((m) => m.ruleId === RULE)).toEqual([]);
    const inCode = await lintAs('services/processor/src/boundary-probe.ts', importTestkit);
    expect(inCode.filter((m) => m.ruleId === RULE)).toHaveLength(1);
  }, 60_000);

  it('allows a core lib to import another core lib', async () => {
    const messages = await lintAs('libs/engine/src/boundary-probe.ts', `import { x } from '@tinycdp/dsl';\nexport const y = x;\n`);
    expect(messages.filter((m) => m.ruleId === RULE)).toEqual([]);
  }, 60_000);
});
