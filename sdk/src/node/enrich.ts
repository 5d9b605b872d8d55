import type { EnrichedEvent, MessageAttributes } from '../protocol/enriched.ts';
import type { SluiceEvent } from '../protocol/messages.ts';

/**
 * What the collector would publish for this event (seam 3), for the direct Pub/Sub transport: the event plus
 * `receivedAt`, `originalTimestamp`, `timestamp` (no clock skew to correct: the sender is the receiver),
 * `sentAt`, `sourceId`, `context`. The write key never appears.
 */
export function enrich(
  e: SluiceEvent,
  sourceId: string,
  sentAt: string,
  now: Date,
): { data: string; attributes: MessageAttributes } {
  const { writeKey: _drop, ...rest } = e;
  const receivedAt = now.toISOString();
  const enriched: EnrichedEvent = {
    ...rest,
    messageId: e.messageId ?? '',
    originalTimestamp: e.timestamp ?? receivedAt,
    timestamp: e.timestamp ?? receivedAt,
    sentAt,
    receivedAt,
    sourceId,
    context: e.context ?? {},
  } as EnrichedEvent;
  return { data: JSON.stringify(enriched), attributes: { type: e.type, sourceId } };
}
