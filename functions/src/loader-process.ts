/**
 * Process settings of the loader, set where it runs (the local stack's loader child, the GCP loader function) and
 * measured by `npm run bench -- loader` (figures in docs/warehouse-schema.md).
 */

/**
 * V8 heap settings: a small young generation and a capped old generation keep the JS side near its live data (a
 * batch is bounded by SLUICE_BATCH_EVENTS and SLUICE_BATCH_BYTES) instead of letting the heap grow lazily.
 */
export const LOADER_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=128';

/**
 * DuckDB destination only: DuckDB's bundled jemalloc hands freed pages back to the OS at once instead of after its
 * decay time, so one commit statement does not run on top of the previous one's freed but still resident memory.
 */
export const LOADER_DUCKDB_ENV: Readonly<Record<string, string>> = {
  DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:0,muzzy_decay_ms:0',
};
