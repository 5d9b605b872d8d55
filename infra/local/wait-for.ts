import { LocalError } from './errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
  /** Checked before each poll: a reason to give up early (e.g. the child exited). */
  abandon?: () => string | undefined;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError = '';
  for (;;) {
    const reason = options.abandon?.();
    if (reason !== undefined) {
      throw new LocalError('SLUICE_ERR_LOCAL_TIMEOUT', `gave up waiting for ${options.what}: ${reason}`);
    }
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new LocalError(
        'SLUICE_ERR_LOCAL_TIMEOUT',
        `${options.what} not ready after ${options.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/**
 * Reads until `done` holds for the value read or `timeoutMs` has passed, and returns the last value either way (the
 * caller reports or asserts on it). A failed read keeps the previous value (`initial` before the first success).
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { initial: T; timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let value = options.initial;
  for (;;) {
    value = await read().catch(() => value);
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
