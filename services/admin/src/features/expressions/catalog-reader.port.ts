import type { StoredDefinition } from '../definitions/definition-store.port';

/** Read side the expression checks need: the current definitions. */
export interface CatalogReader {
  listLive(): Promise<StoredDefinition[]>;
}
