import type { EventType, SluiceEvent } from './messages.ts';

/**
 * The Pub/Sub message contract (seam 3): one event as a single line of UTF-8 JSON, written by the collector.
 * Everything the loader may rely on is required here; the loader still re-checks every line.
 */
export type EnrichedEvent = SluiceEvent & {
  messageId: string;
  /** When the collector received the request (collector clock). */
  receivedAt: string;
  /** Skew-corrected: `receivedAt - (sentAt - originalTimestamp)`. */
  timestamp: string;
  /** The client's own timestamp, as sent. */
  originalTimestamp?: string;
  sentAt?: string;
  /** The source (write key's id) the event came from. The write key itself never leaves the collector. */
  sourceId: string;
  context: Record<string, unknown>;
};

/** Pub/Sub message attributes: routing metadata only, never the write key. */
export interface MessageAttributes {
  type: EventType;
  sourceId: string;
}

/** Size limits, as Segment's HTTP Tracking API enforces them. */
export const LIMITS = {
  maxEventBytes: 32 * 1024,
  maxBatchBytes: 500 * 1024,
} as const;
