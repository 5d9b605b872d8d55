import { type FinalizedObject, finalizedCloudEvent } from '@sluice/sdk/protocol';
import type { Logger } from 'pino';
import { LocalError } from './errors.ts';

export interface DeliveryOptions {
  /** The loader's URL (functions-framework serves the CloudEvent function at `/`). */
  url: string;
  fetch: typeof fetch;
  /** Waits `ms`, or rejects early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** 0 = retry until aborted (Eventarc keeps retrying for 24 h). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-attempt timeout. */
  attemptTimeoutMs: number;
  random: () => number;
  logger: Logger;
}

export const DEFAULT_DELIVERY = {
  maxAttempts: 0,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 120_000,
} as const;

/** Exponential backoff with full jitter, as Eventarc/Pub/Sub push retry: base·2^(n-1), capped, randomised. */
export function backoffMs(
  attempt: number,
  options: Pick<DeliveryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
) {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (options.random() * ceiling) / 2);
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * POSTs the `object.finalized` CloudEvent (binary content mode) for one file until the loader answers 2xx.
 * Like Eventarc (a Pub/Sub push subscription underneath), any other answer or a network error is retried with
 * backoff; the CloudEvent id is the same on every attempt. Resolves with the number of attempts; rejects with
 * SLUICE_ERR_LOCAL_DELIVERY_FAILED after `maxAttempts`, or with the abort reason when `signal` aborts.
 */
export async function deliverFinalized(
  object: FinalizedObject,
  options: DeliveryOptions,
  signal: AbortSignal,
): Promise<number> {
  const request = finalizedCloudEvent(object);
  const log = options.logger.child({ bucket: object.bucket, name: object.name });
  let lastProblem = '';
  for (let attempt = 1; ; attempt += 1) {
    signal.throwIfAborted();
    try {
      const response = await options.fetch(options.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.attemptTimeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        log.info({ attempt, status: response.status }, 'finalized event delivered');
        return attempt;
      }
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      signal.throwIfAborted();
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (options.maxAttempts > 0 && attempt >= options.maxAttempts) {
      throw new LocalError(
        'SLUICE_ERR_LOCAL_DELIVERY_FAILED',
        `loader did not accept ${object.bucket}/${object.name} after ${attempt} attempts (last: ${lastProblem})`,
      );
    }
    const delay = backoffMs(attempt, options);
    log.warn({ attempt, problem: lastProblem, retryInMs: delay }, 'finalized event not accepted; retrying');
    await options.sleep(delay, signal);
  }
}
