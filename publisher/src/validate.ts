import { type CheckResult, checkEvent, isValidEvent } from '@sluice/sdk/protocol';

/**
 * The protocol's `checkEvent`, with its boolean fast path: valid events are accepted by the compiled check without
 * walking the error iterator; only failures go through `checkEvent` to collect field paths. Same verdicts.
 */
export function validateEvent(value: unknown): CheckResult {
  return isValidEvent(value) ? { ok: true, event: value } : checkEvent(value);
}
