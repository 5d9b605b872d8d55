import { type CheckResult, checkEvent, isValidEvent } from '@sluice/sdk/protocol';

/**
 * The protocol's `checkEvent`, with its boolean fast path first: valid events (nearly all) build no error
 * objects; only an invalid event pays for the field paths.
 */
export function validateEvent(value: unknown): CheckResult {
  return isValidEvent(value) ? { ok: true, event: value } : checkEvent(value);
}
