import type { SluiceEvent } from '../protocol/messages.ts';

/** Request body bytes besides the events (`{"batch":[],"sentAt":"..."}`, a beacon's write key), rounded up. */
const ENVELOPE_BYTES = 80;

/**
 * The oldest `items` (in order, skipping those in `skip`) that fit one request of at most `maxBytes` of body and
 * `maxEvents` events, each event counted as its JSON plus a comma. Stops at the first event that does not fit.
 */
export function takeBatch(
  items: readonly SluiceEvent[],
  maxBytes: number,
  maxEvents: number,
  bytes: (s: string) => number,
  skip: readonly SluiceEvent[] = [],
): SluiceEvent[] {
  const out: SluiceEvent[] = [];
  let n = ENVELOPE_BYTES;
  for (const e of items) {
    if (skip.includes(e)) continue;
    const s = bytes(JSON.stringify(e)) + 1;
    if (n + s > maxBytes || out.length >= maxEvents) break;
    out.push(e);
    n += s;
  }
  return out;
}
