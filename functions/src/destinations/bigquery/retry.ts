import { LoaderError } from '../../errors.ts';

/** Google API error reasons that a later attempt can fix. */
const RETRYABLE_REASONS = new Set([
  'backendError',
  'internalError',
  'rateLimitExceeded',
  'jobRateLimitExceeded',
  'quotaExceeded',
  'jobBackendError',
  'jobInternalError',
]);

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** How an HTTP-level failure of a Google API call should be treated. */
export type ApiErrorKind = 'retryable' | 'duplicate' | 'not-found' | 'rejected';

/** Classifies by HTTP status and `errors[].reason` (never by message text). Network errors are retryable. */
export function classifyApiError(error: unknown): ApiErrorKind {
  const e = error as { code?: unknown; errors?: { reason?: string; message?: string }[] };
  if (typeof e.code === 'number') {
    // 409 on a job or object, 412 on a create-only precondition (`ifGenerationMatch`): it exists already.
    if (e.code === 409 || e.code === 412) return 'duplicate';
    if (e.code === 404) return 'not-found';
    const details = Array.isArray(e.errors) ? e.errors : [];
    if (RETRYABLE_STATUS.has(e.code) || details.some(isRetryableJobError)) return 'retryable';
    return 'rejected';
  }
  // No HTTP status: socket reset, DNS, timeout — the request may or may not have been processed.
  return 'retryable';
}

/**
 * BigQuery aborts a transaction (or a DML statement) that conflicts with a concurrent mutation of the same table
 * with reason `invalidQuery` — the same reason as a genuine SQL error — and only the message tells them apart
 * ("Transaction is aborted due to concurrent update against table …", "Could not serialize access to table … due
 * to concurrent update"). This is the one place Sluice reads an error message: a conflict is retryable, a broken
 * statement is not.
 */
const CONCURRENT_UPDATE = /due to concurrent update/i;

/** Whether a job's `status.errorResult` is worth a new attempt. */
export function isRetryableJobError(error: { reason?: string; message?: string }): boolean {
  if (error.reason !== undefined && RETRYABLE_REASONS.has(error.reason)) return true;
  return error.reason === 'invalidQuery' && CONCURRENT_UPDATE.test(error.message ?? '');
}

export interface RetryPolicy {
  /** Epoch ms after which no new attempt starts (the function's time budget). */
  deadline: number;
  initialDelayMs: number;
  maxDelayMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** 0..1; each delay is the capped exponential step times 0.5 + random/2. Default Math.random. */
  random: () => number;
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
  return Math.max(1, Math.round(cap * (0.5 + policy.random() / 2)));
}

/** Waits before attempt `attempt + 1`, or throws the retryable UNAVAILABLE error when the budget is spent. */
export async function waitOrGiveUp(
  policy: RetryPolicy,
  attempt: number,
  what: string,
  cause: unknown,
): Promise<void> {
  const delay = backoffDelay(policy, attempt);
  if (policy.now() + delay >= policy.deadline) {
    throw new LoaderError(
      'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE',
      `${what}: still failing after ${attempt + 1} attempts within the time budget`,
      { cause },
    );
  }
  await policy.sleep(delay);
}

/**
 * Runs `call`, retrying transient failures with exponential backoff inside the time budget; `duplicate` and
 * `not-found` are returned to the caller to decide (409 on a job id means "look it up").
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  what: string,
  call: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; kind: 'duplicate' | 'not-found'; error: unknown }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { ok: true, value: await call() };
    } catch (error) {
      const kind = classifyApiError(error);
      if (kind === 'duplicate' || kind === 'not-found') return { ok: false, kind, error };
      if (kind === 'rejected') {
        throw new LoaderError(
          'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
          `${what}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      await waitOrGiveUp(policy, attempt, what, error);
    }
  }
}
