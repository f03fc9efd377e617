import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * kafkajs' internal modules at `paths` (under `kafkajs/src/`, as 2.2.4 lays them out), loaded, for
 * replacing their exports in this thread's module registry — or null when one of them is not there, or
 * when `reader`, the module that reads them once as it loads, is loaded already (it would keep the
 * originals). Used by the Kafka threads' codecs (`installRecordBatchEncoding`, the processor's raw
 * record batches).
 */
export function kafkajsModules(paths: readonly string[], reader: string): NodeJS.Module[] | null {
  try {
    if (require.cache[require.resolve(`kafkajs/src/${reader}`)] !== undefined) return null;
    return paths.map((p) => {
      const file = require.resolve(`kafkajs/src/${p}`);
      require(file);
      return require.cache[file]!;
    });
  } catch {
    return null;
  }
}
