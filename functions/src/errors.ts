/**
 * The loader's coded error registry. Every code is documented in docs/errors/functions.md (a test checks it).
 * Codes flagged `retryable` are the only ones ever thrown out of the function (the trigger retries them); the
 * others are recorded as failed events or logged, and the load completes.
 */
export const ERRORS = {
  SLUICE_ERR_CONFIG_INVALID: { retryable: false, message: 'invalid loader configuration' },
  SLUICE_ERR_CONFIG_CONTRACTS_INVALID: { retryable: false, message: 'invalid schema contracts file' },
  SLUICE_ERR_LOAD_DESTINATION_LOCKED: {
    retryable: true,
    message: 'destination is locked by another process',
  },
  SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE: { retryable: true, message: 'destination unavailable' },
  SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY: {
    // Retryable: memory may have been taken by another load of the machine. A file that keeps failing this way
    // is quarantined after SLUICE_MAX_LOAD_ATTEMPTS, so it never blocks the files after it.
    retryable: true,
    message: 'the destination ran out of its memory limit (DuckDB)',
  },
  SLUICE_ERR_LOAD_DESTINATION_REJECTED: {
    retryable: false,
    message: 'destination rejected a job as invalid (a retry cannot fix it)',
  },
  SLUICE_ERR_LOAD_OBJECT_READ: { retryable: true, message: 'reading the object failed' },
  SLUICE_ERR_LOAD_OBJECT_NOT_FOUND: { retryable: false, message: 'object does not exist' },
  SLUICE_ERR_LOAD_OBJECT_GENERATION_GONE: { retryable: false, message: 'object generation was replaced' },
  SLUICE_ERR_LOAD_BAD_CLOUDEVENT: { retryable: false, message: 'CloudEvent data is not StorageObjectData' },
  SLUICE_ERR_LOAD_MALFORMED_JSON: { retryable: false, message: 'line is not valid JSON' },
  SLUICE_ERR_LOAD_TRUNCATED_LINE: { retryable: false, message: 'last line is truncated' },
  SLUICE_ERR_LOAD_LINE_TOO_LONG: { retryable: false, message: 'line exceeds the maximum line length' },
  SLUICE_ERR_LOAD_BLANK_LINE: { retryable: false, message: 'line is blank' },
  SLUICE_ERR_LOAD_INVALID_EVENT: { retryable: false, message: 'event does not match the protocol' },
  SLUICE_ERR_LOAD_UNROUTABLE: { retryable: false, message: 'event type is unknown' },
  SLUICE_ERR_LOAD_TOO_DEEP: {
    retryable: false,
    message: 'line nests objects/arrays deeper than the loader accepts',
  },
  SLUICE_ERR_LOAD_LONE_SURROGATE: {
    retryable: false,
    message: 'a string or key holds a lone UTF-16 surrogate (not valid Unicode)',
  },
  SLUICE_ERR_LOAD_QUARANTINED: {
    retryable: false,
    message: 'the file failed too often (or with an error no retry can fix) and is quarantined',
  },
  SLUICE_ERR_LOAD_IDENTITY_UPKEEP: {
    // Retryable: the file's edges are committed; a redelivery finds the file loaded and runs the upkeep again.
    retryable: true,
    message: 'the identity map update after a load failed',
  },
  SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE: {
    retryable: false,
    message: 'an identity update would recompute more ids than maxComponentIds allows',
  },
  SLUICE_ERR_IDENTITY_LEASE_LOST: {
    // Retryable: the map writes are recomputations (idempotent); the next run starts from the kept watermark.
    retryable: true,
    message: 'the scheduled identity update lost its lease before it could advance the watermark',
  },
  SLUICE_ERR_LOAD_MISSING_ID: { retryable: false, message: 'event has no messageId' },
  SLUICE_ERR_LOAD_CONTRACT_FREEZE: { retryable: false, message: 'schema contract freeze rejected the event' },
  SLUICE_ERR_LOAD_CONTRACT_DISCARD_ROW: {
    retryable: false,
    message: 'schema contract discard_row dropped the event',
  },
  SLUICE_ERR_PRIVACY_INVALID_REQUEST: {
    retryable: false,
    message: 'privacy request is invalid (no ids, an empty id, or an unknown command)',
  },
  SLUICE_ERR_PRIVACY_NOT_FOUND: { retryable: false, message: 'no privacy request with that id' },
  SLUICE_ERR_PRIVACY_CONFLICT: {
    retryable: true,
    message: 'an object changed while the privacy request rewrote it',
  },
  SLUICE_ERR_PRIVACY_LIST_INVALID: {
    // Retryable: loads wait (and are eventually quarantined) rather than load events of suppressed people.
    retryable: true,
    message: 'the suppression list object is not a valid list',
  },
} as const satisfies Record<string, { retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class LoaderError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.name = 'LoaderError';
    this.code = code;
    this.retryable = ERRORS[code].retryable;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof LoaderError && error.retryable;
}
