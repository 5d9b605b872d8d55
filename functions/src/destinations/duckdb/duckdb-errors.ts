import { LoaderError } from '../../errors.ts';

/**
 * DuckDB reports errors only as message text that starts with its exception type (`IO Error: ...`,
 * `Conversion Error: ...`); @duckdb/node-api exposes no code. This is the one place that reads that text, and it
 * reads only the type prefix (plus the lock wording, which has no type of its own).
 */
export function isLockConflict(error: unknown): boolean {
  return error instanceof Error && /Could not set lock|Conflicting lock/i.test(error.message);
}

/** The exception type DuckDB put before the first `:` (`IO`, `Conversion`, `Out of Memory` ...), if any. */
function duckdbErrorType(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  return /^([A-Za-z][A-Za-z ]*?) Error:/.exec(error.message)?.[1];
}

/**
 * Types a retry can fix: the disk, the lock, memory taken by something else, a transaction conflict, a catalog
 * changed by a concurrent writer. Everything else (a conversion, a constraint, invalid input, a binder error on
 * SQL the loader wrote) fails the same way on every retry: not retryable, and the load is quarantined.
 */
const RETRYABLE_TYPES = new Set(['IO', 'Out of Memory', 'Transaction', 'Catalog', 'Interrupt', 'Connection']);

/**
 * A DuckDB error -> LoaderError. Corruption (`INTERNAL Error`, `Serialization`) and WAL-replay failures surface as
 * UNAVAILABLE: the file cannot be opened until a user recovers it (docs/warehouse-schema.md, "Recovering a
 * warehouse"), and the trigger keeps retrying meanwhile, which is what the recovery needs (no file is dropped).
 */
export function classifyDuckdbError(error: unknown, context: string): LoaderError {
  if (error instanceof LoaderError) return error;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const type = duckdbErrorType(error);
  if (isLockConflict(error)) {
    return new LoaderError('SLUICE_ERR_LOAD_DESTINATION_LOCKED', `${context}: ${message}`, { cause: error });
  }
  if (type === 'Out of Memory') {
    return new LoaderError('SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY', `${context}: ${message}`, {
      cause: error,
    });
  }
  if (type === undefined || RETRYABLE_TYPES.has(type) || /^(INTERNAL|Serialization|Fatal)$/i.test(type)) {
    return new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', `${context}: ${message}`, {
      cause: error,
    });
  }
  return new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', `${context}: ${message}`, { cause: error });
}
