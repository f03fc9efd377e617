/** Where the integration backends live; resolved once per test run by `global-setup.ts`. */
export interface TestServices {
  kafkaBrokers: string[];
  redisUrl: string;
  databaseUrl: string;
  /**
   * Confluent-compatible schema registry API root (Apicurio's /apis/ccompat/v7): SCHEMA_REGISTRY_URL, else
   * the local one scripts/registry.sh started. null when none could be provided: `schemaRegistryProblem`
   * says why (only the registry tests need it, so the others still run).
   */
  schemaRegistryUrl: string | null;
  schemaRegistryProblem?: string;
}

export function splitBrokers(value: string): string[] {
  return value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}
