/**
 * A scenario that cannot run on this machine (e.g. the schema registry needs Java 21+) throws
 * `ScenarioNotRun` with the reason; bench/run.ts records it as `skipped` and the report says
 * "not run: <reason>" instead of an error. Anything else thrown is a failure of the scenario.
 */
export class ScenarioNotRun extends Error {
  override readonly name = 'ScenarioNotRun';
}

export function isNotRun(err: unknown): err is ScenarioNotRun {
  return err instanceof ScenarioNotRun || (err as { name?: unknown } | null)?.name === 'ScenarioNotRun';
}
