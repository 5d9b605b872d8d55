import { randomUUID } from 'node:crypto';
import type { EnrichedEvent, SluiceEvent } from '@sluice/sdk/protocol';
import { anonymizeIp } from './ip.ts';
import { formatIsoTime } from './iso-time.ts';

export interface EnrichContext {
  receivedAt: Date;
  sourceId: string;
  /** Client address (socket or trusted proxy header). */
  ip: string | undefined;
  anonymizeIp: boolean;
  /** Batch-level defaults (Segment's batch envelope): an event's own keys win. */
  batch?: { context?: Record<string, unknown>; integrations?: Record<string, unknown>; sentAt?: string };
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `Object.assign`-like copy of a parsed JSON object's keys, with spread's semantics (`{ ...target, ...source }`
 * without `skip`): same keys in the same order, a later value replacing an earlier one in place, and a JSON key
 * `"__proto__"` kept as a plain key (assignment would set the prototype). A keyed for-in loop: several times
 * cheaper than a spread of these objects, whose shapes vary from event to event.
 */
function copyFields(target: Record<string, unknown>, source: Record<string, unknown>, skip?: string): void {
  for (const key in source) {
    if (key === skip) continue;
    const value = source[key];
    if (key === '__proto__')
      Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    else target[key] = value;
  }
}

/** The last `receivedAt` formatted: requests arriving in the same millisecond share the string. */
let lastReceivedAtMs = Number.NaN;
let lastReceivedAt = '';

/**
 * Adds what the collector knows to a valid event (seam 3): `messageId` if missing, `receivedAt`, the skew-corrected
 * `timestamp` (`receivedAt - (sentAt - originalTimestamp)`) keeping the client's value as `originalTimestamp`,
 * `context.ip` (unless the client set one), and `sourceId`. Removes `writeKey`: it never leaves the collector.
 * Returns a new object; the event is not modified.
 *
 * Everything that is the same for every event of a request (the `receivedAt` string, the batch's `sentAt` instant,
 * the client address) is computed once by `createEnricher`; the returned function does the per-event work.
 */
export function createEnricher(ctx: EnrichContext): (event: SluiceEvent) => EnrichedEvent {
  const receivedAtMs = ctx.receivedAt.getTime();
  if (receivedAtMs !== lastReceivedAtMs) {
    lastReceivedAt = formatIsoTime(receivedAtMs);
    lastReceivedAtMs = receivedAtMs;
  }
  const receivedAt = lastReceivedAt;
  const batchContext = isRecord(ctx.batch?.context) ? ctx.batch.context : undefined;
  const batchIntegrations = ctx.batch?.integrations;
  const batchSentAt = ctx.batch?.sentAt;
  const batchSentAtMs = batchSentAt === undefined ? Number.NaN : Date.parse(batchSentAt);
  const ip = ctx.ip !== undefined && ctx.anonymizeIp ? anonymizeIp(ctx.ip) : ctx.ip;

  return (event) => {
    const clientTimestamp = event.timestamp ?? event.originalTimestamp;
    const sentAt = event.sentAt ?? batchSentAt;
    const sentAtMs = event.sentAt === undefined ? batchSentAtMs : Date.parse(event.sentAt);

    let timestamp = receivedAt;
    if (clientTimestamp !== undefined) {
      const original = Date.parse(clientTimestamp);
      timestamp = formatIsoTime(Number.isNaN(sentAtMs) ? original : receivedAtMs - (sentAtMs - original));
    }

    const context: Record<string, unknown> = {};
    if (batchContext !== undefined) copyFields(context, batchContext);
    if (isRecord(event.context)) copyFields(context, event.context);
    if (typeof context.ip === 'string') {
      if (ctx.anonymizeIp) context.ip = anonymizeIp(context.ip);
    } else if (ip !== undefined) {
      context.ip = ip;
    }

    // Same keys, in the same order, as `{ ...event (without writeKey), messageId, receivedAt, timestamp, ... }`.
    const enriched: Record<string, unknown> = {};
    copyFields(enriched, event as Record<string, unknown>, 'writeKey');
    enriched.messageId = event.messageId ?? randomUUID();
    enriched.receivedAt = receivedAt;
    enriched.timestamp = timestamp;
    enriched.sourceId = ctx.sourceId;
    enriched.context = context;
    if (clientTimestamp !== undefined) enriched.originalTimestamp = clientTimestamp;
    if (sentAt !== undefined) enriched.sentAt = sentAt;
    if (batchIntegrations && event.integrations === undefined) enriched.integrations = batchIntegrations;
    return enriched as EnrichedEvent;
  };
}
