// Public API of @tinycdp/kafka. Two owners add exports here: the batching producer (ingest) and
// topics/consumers (processor). Append; do not reorder.
export {};
