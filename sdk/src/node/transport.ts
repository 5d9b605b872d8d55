import type { Outcome } from '../core/retry.ts';
import type { SluiceEvent } from '../protocol/messages.ts';

/**
 * Delivers one batch. Resolves (never rejects) with the outcome; `rest`, when set on a retryable failure, is the
 * subset still undelivered (a partial Pub/Sub publish), so a retry does not duplicate what already went through.
 */
export interface Transport {
  send(batch: SluiceEvent[], sentAt: string): Promise<Outcome & { rest?: SluiceEvent[] }>;
  close?(): Promise<void>;
}
