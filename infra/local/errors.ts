/**
 * Coded errors of the local topology (infra/local). Documented in docs/local.md (a test checks every code).
 * `retryable`: whether trying the same operation again may succeed without a change by the user.
 */
export const LOCAL_ERRORS = {
  SLUICE_ERR_LOCAL_CONFIG: { retryable: false, summary: 'One or more local settings are invalid.' },
  SLUICE_ERR_LOCAL_GCLOUD_MISSING: {
    retryable: false,
    summary: 'The gcloud CLI is not on PATH (needed for the Pub/Sub emulator).',
  },
  SLUICE_ERR_LOCAL_JAVA_MISSING: {
    retryable: false,
    summary: 'Java is not on PATH (the Pub/Sub emulator runs on a JRE).',
  },
  SLUICE_ERR_LOCAL_EMULATOR_START: {
    retryable: true,
    summary: 'The Pub/Sub emulator exited or did not answer before the deadline.',
  },
  SLUICE_ERR_LOCAL_LOADER_BUNDLE_MISSING: {
    retryable: false,
    summary: 'functions/dist/index.js does not exist: run `npm run build -w functions`.',
  },
  SLUICE_ERR_LOCAL_BUILD: {
    retryable: false,
    summary: '`npm run build -w functions` failed (see its output).',
  },
  SLUICE_ERR_LOCAL_BINARY_MISSING: {
    retryable: false,
    summary: 'A required executable under node_modules/.bin is missing: run `npm ci`.',
  },
  SLUICE_ERR_LOCAL_CHILD_START: {
    retryable: true,
    summary: 'A child process (collector or loader) exited or did not listen before the deadline.',
  },
  SLUICE_ERR_LOCAL_PORT_IN_USE: {
    retryable: false,
    summary: 'Another process already listens on the collector port (SLUICE_PORT).',
  },
  SLUICE_ERR_LOCAL_CHILD_EXITED: {
    retryable: true,
    summary:
      'The collector or the loader exited while the stack was running; `npm run dev` stops and exits 1.',
  },
  SLUICE_ERR_LOCAL_CHILD_STOP: {
    retryable: true,
    summary: 'A child process group was still alive after SIGKILL and the stop deadline.',
  },
  SLUICE_ERR_LOCAL_DELIVERY_FAILED: {
    retryable: true,
    summary: 'A finalized CloudEvent was not accepted by the loader after every retry.',
  },
  SLUICE_ERR_LOCAL_WINDOW_WRITE: {
    retryable: true,
    summary: 'A window file could not be written durably; its messages were nacked for redelivery.',
  },
  SLUICE_ERR_LOCAL_TIMEOUT: { retryable: true, summary: 'A condition was not met before its deadline.' },
  SLUICE_ERR_LOCAL_QUERY: {
    retryable: false,
    summary: 'The DuckDB query failed (bad SQL or missing table).',
  },
  SLUICE_ERR_LOCAL_WAREHOUSE_LOCKED: {
    retryable: true,
    summary: 'The DuckDB file stayed locked by the loader for longer than the query retry window.',
  },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type LocalErrorCode = keyof typeof LOCAL_ERRORS;

export class LocalError extends Error {
  readonly code: LocalErrorCode;
  readonly retryable: boolean;

  constructor(code: LocalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalError';
    this.code = code;
    this.retryable = LOCAL_ERRORS[code].retryable;
  }
}

export function isLocalError(value: unknown, code?: LocalErrorCode): value is LocalError {
  return value instanceof LocalError && (code === undefined || value.code === code);
}
