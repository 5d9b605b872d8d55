import { randomUUID } from 'node:crypto';
import type { EnrichedEvent, SluiceEvent } from '@sluice/sdk/protocol';
import { anonymizeIp } from './ip.ts';

export interface EnrichContext {
  receivedAt: Date;
  sourceId: string;
  /** Client address (socket or trusted proxy header). */
  ip: string | undefined;
  anonymizeIp: boolean;
  /** Batch-level defaults (Segment's batch envelope): an event's own keys win. */
  batch?: { context?: Record<string, unknown>; integrations?: Record<string, unknown>; sentAt?: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Adds what the collector knows to a valid event (seam 3): `messageId` if missing, `receivedAt`, the skew-corrected
 * `timestamp` (`receivedAt - (sentAt - originalTimestamp)`) keeping the client's value as `originalTimestamp`,
 * `context.ip` (unless the client set one), and `sourceId`. Removes `writeKey`: it never leaves the collector.
 */
export function enrich(event: SluiceEvent, ctx: EnrichContext): EnrichedEvent {
  let rest = event;
  if ('writeKey' in event) {
    const { writeKey: _dropped, ...others } = event;
    rest = others as SluiceEvent;
  }
  const receivedAtMs = ctx.receivedAt.getTime();
  const receivedAt = ctx.receivedAt.toISOString();
  const clientTimestamp = rest.timestamp ?? rest.originalTimestamp;
  const sentAt = rest.sentAt ?? ctx.batch?.sentAt;

  let timestamp = receivedAt;
  if (clientTimestamp !== undefined) {
    const original = Date.parse(clientTimestamp);
    const sent = sentAt === undefined ? Number.NaN : Date.parse(sentAt);
    timestamp = Number.isNaN(sent)
      ? new Date(original).toISOString()
      : new Date(receivedAtMs - (sent - original)).toISOString();
  }

  const context: Record<string, unknown> = {
    ...(isRecord(ctx.batch?.context) ? ctx.batch.context : {}),
    ...(isRecord(rest.context) ? rest.context : {}),
  };
  if (typeof context.ip !== 'string' && ctx.ip !== undefined) context.ip = ctx.ip;
  if (ctx.anonymizeIp && typeof context.ip === 'string') context.ip = anonymizeIp(context.ip);

  const enriched: EnrichedEvent = {
    ...rest,
    messageId: rest.messageId ?? randomUUID(),
    receivedAt,
    timestamp,
    sourceId: ctx.sourceId,
    context,
  };
  if (clientTimestamp !== undefined) enriched.originalTimestamp = clientTimestamp;
  if (sentAt !== undefined) enriched.sentAt = sentAt;
  if (ctx.batch?.integrations && rest.integrations === undefined) {
    enriched.integrations = ctx.batch.integrations as EnrichedEvent['integrations'];
  }
  return enriched;
}
