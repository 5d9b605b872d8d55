import type { OutboundMessage, Transport } from './transport.ts';

/**
 * Keeps published messages in an array. For tests and benchmarks; `failWith`/`delayMs` simulate a broken or
 * slow broker.
 */
export class InMemoryTransport implements Transport {
  readonly name = 'in-memory';
  readonly messages: OutboundMessage[] = [];
  failWith: Error | undefined;
  delayMs = 0;
  /** When false, `messages` is not kept (benchmarks): only `count` grows. */
  keep = true;
  count = 0;
  isReady = true;

  async publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    this.count += messages.length;
    if (this.keep) this.messages.push(...messages);
  }

  async ready(): Promise<boolean> {
    return this.isReady;
  }

  async close(): Promise<void> {}

  /** The published events, parsed. */
  events(): Record<string, unknown>[] {
    return this.messages.map((m) => JSON.parse(m.data) as Record<string, unknown>);
  }
}
