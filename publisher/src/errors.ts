/**
 * The collector's coded error registry. Every error a client can see has a code here, an HTTP status and a
 * `retryable` flag (whether the same request may succeed later). Documented in docs/errors/publisher.md.
 */
export const ERRORS = {
  SLUICE_ERR_PUBLISHER_AUTH_MISSING: { status: 401, retryable: false, message: 'write key missing' },
  SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN: { status: 401, retryable: false, message: 'unknown write key' },
  SLUICE_ERR_PUBLISHER_ORIGIN_NOT_ALLOWED: {
    status: 403,
    retryable: false,
    message: 'origin not allowed for this write key',
  },
  SLUICE_ERR_PUBLISHER_BODY_PARSE: { status: 400, retryable: false, message: 'body is not valid JSON' },
  SLUICE_ERR_PUBLISHER_BODY_ENCODING: {
    status: 415,
    retryable: false,
    message: 'unsupported content encoding (identity or gzip)',
  },
  SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'request body over the limit',
  },
  SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE: { status: 413, retryable: false, message: 'event over the limit' },
  SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP: {
    status: 400,
    retryable: false,
    message: 'event nests objects and arrays deeper than the limit (64 levels)',
  },
  SLUICE_ERR_PUBLISHER_LONE_SURROGATE: {
    status: 400,
    retryable: false,
    message: 'a string or key holds a lone surrogate, which UTF-8 cannot encode',
  },
  SLUICE_ERR_PUBLISHER_SCHEMA: { status: 400, retryable: false, message: 'event does not match the schema' },
  SLUICE_ERR_PUBLISHER_BATCH_SCHEMA: {
    status: 400,
    retryable: false,
    message: 'batch envelope does not match the schema',
  },
  SLUICE_ERR_PUBLISHER_BATCH_PARTIAL: {
    status: 400,
    retryable: false,
    message: 'some events were rejected; the others were accepted',
  },
  SLUICE_ERR_PUBLISHER_RATE_LIMITED: { status: 429, retryable: true, message: 'rate limit exceeded' },
  SLUICE_ERR_PUBLISHER_PUBLISH_TIMEOUT: {
    status: 503,
    retryable: true,
    message: 'the broker did not accept the events in time',
  },
  SLUICE_ERR_PUBLISHER_PUBLISH_FAILED: {
    status: 503,
    retryable: true,
    message: 'the broker rejected the events',
  },
  SLUICE_ERR_PUBLISHER_OVERLOADED: {
    status: 503,
    retryable: true,
    message: 'too many bytes waiting for the broker',
  },
  SLUICE_ERR_PUBLISHER_SHUTTING_DOWN: {
    status: 503,
    retryable: true,
    message: 'the collector is shutting down',
  },
  SLUICE_ERR_PUBLISHER_NOT_FOUND: { status: 404, retryable: false, message: 'no such route' },
  SLUICE_ERR_PUBLISHER_INTERNAL: { status: 500, retryable: true, message: 'internal error' },
  SLUICE_ERR_PUBLISHER_AUTH_THROTTLED: {
    status: 429,
    retryable: true,
    message: 'too many unknown write keys from this address',
  },
  SLUICE_ERR_PUBLISHER_HOST_INVALID: {
    status: 400,
    retryable: false,
    message: 'the request names no valid host (set SLUICE_PUBLIC_URL)',
  },
  SLUICE_ERR_PUBLISHER_SUPPRESSION_UNREADABLE: {
    // Logged only (never an answer): the collector keeps its previous suppression list.
    status: 500,
    retryable: true,
    message: 'the suppression list could not be read',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Seconds a client should wait before retrying a retryable failure (Retry-After). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

export interface RejectedEvent {
  index: number;
  code: ErrorCode;
  issues: { path: string; message: string }[];
}

/** The one error type the collector throws; the error handler maps `code` to status and body. */
export class CollectorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly rejected: RejectedEvent[] | undefined;
  readonly accepted: number | undefined;

  constructor(
    code: ErrorCode,
    options: {
      message?: string;
      retryAfterSeconds?: number;
      rejected?: RejectedEvent[];
      accepted?: number;
      cause?: unknown;
    } = {},
  ) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause });
    this.name = 'CollectorError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = ERRORS[code].retryable;
    this.retryAfterSeconds =
      options.retryAfterSeconds ?? (this.retryable ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
    this.rejected = options.rejected;
    this.accepted = options.accepted;
  }
}
