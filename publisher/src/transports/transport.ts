import type { MessageAttributes } from '@sluice/sdk/protocol';

/** One event on its way to the broker: `data` is the enriched event as a single line of JSON. */
export interface OutboundMessage {
  data: string;
  attributes: MessageAttributes;
}

/**
 * Where accepted events go (seam 3). `publish` resolves only once every message is durably accepted
 * (Pub/Sub acked, or spool file fsynced) and rejects otherwise; it may take arbitrarily long — the caller
 * bounds the wait.
 */
export interface Transport {
  readonly name: string;
  publish(messages: readonly OutboundMessage[]): Promise<void>;
  /** True when the broker is reachable and the destination exists. */
  ready(): Promise<boolean>;
  /** Flushes whatever is pending and releases resources. */
  close(): Promise<void>;
}
