/**
 * The SDK's coded error registry. The SDK never throws into the host application after init: every code here is
 * reported through the injected `logger(code, detail)` instead. Documented in docs/errors/sdk.md.
 */
export const ERR_PLUGIN = 'SLUICE_ERR_SDK_PLUGIN';
export const ERR_STORAGE = 'SLUICE_ERR_SDK_STORAGE';
export const ERR_QUEUE_FULL = 'SLUICE_ERR_SDK_QUEUE_FULL';
export const ERR_EVENT_TOO_LARGE = 'SLUICE_ERR_SDK_EVENT_TOO_LARGE';
export const ERR_REJECTED = 'SLUICE_ERR_SDK_REJECTED';
export const ERR_SEND_FAILED = 'SLUICE_ERR_SDK_SEND_FAILED';
export const ERR_RETRIES_EXHAUSTED = 'SLUICE_ERR_SDK_RETRIES_EXHAUSTED';
export const ERR_INVALID_CALL = 'SLUICE_ERR_SDK_INVALID_CALL';
export const ERR_INTERNAL = 'SLUICE_ERR_SDK_INTERNAL';
export const ERR_CLOSE_TIMEOUT = 'SLUICE_ERR_SDK_CLOSE_TIMEOUT';
export const ERR_CONFIG = 'SLUICE_ERR_SDK_CONFIG';

export interface SdkErrorInfo {
  code: string;
  /** True when the SDK retries by itself (the condition is transient). */
  retryable: boolean;
  /** HTTP status from the collector, where one applies. */
  status?: string;
}

/** Every code with its retry semantics (Node-side and docs; not referenced by the browser bundle). */
export const SDK_ERRORS: readonly SdkErrorInfo[] = [
  { code: ERR_PLUGIN, retryable: false },
  { code: ERR_STORAGE, retryable: false },
  { code: ERR_QUEUE_FULL, retryable: false },
  { code: ERR_EVENT_TOO_LARGE, retryable: false, status: '413' },
  { code: ERR_REJECTED, retryable: false, status: '4xx except 429' },
  { code: ERR_SEND_FAILED, retryable: true, status: '5xx, 429, network' },
  { code: ERR_RETRIES_EXHAUSTED, retryable: false },
  { code: ERR_INVALID_CALL, retryable: false },
  { code: ERR_INTERNAL, retryable: false },
  { code: ERR_CLOSE_TIMEOUT, retryable: false },
  { code: ERR_CONFIG, retryable: false },
];

/** Thrown only at construction (programmer error), never from a tracking call. */
export class SdkConfigError extends Error {
  readonly code = ERR_CONFIG;
}
