import { Deadlines, settledWithin } from './deadlines.ts';
import { CollectorError } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { OutboundMessage, Transport } from './transports/transport.ts';

export interface PublishGateOptions {
  timeoutMs: number;
  maxInflightBytes: number;
  retryAfterSeconds: number;
}

/**
 * Bounds what the collector hands to the transport: a publish that takes longer than `timeoutMs` fails with 503
 * (never a hanging request), and bytes not yet acknowledged by the broker are capped (flow control; over the
 * cap -> 503). Bytes stay counted until the transport settles, even after a timeout, so a dead broker cannot
 * make memory grow.
 */
export class PublishGate {
  private inflight = 0;
  private closing = false;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly deadlines: Deadlines;

  constructor(
    private readonly transport: Transport,
    private readonly options: PublishGateOptions,
    private readonly metrics: Metrics,
  ) {
    metrics.inflightBytes = () => this.inflight;
    this.deadlines = new Deadlines(
      options.timeoutMs,
      () =>
        new CollectorError('SLUICE_ERR_PUBLISHER_PUBLISH_TIMEOUT', {
          retryAfterSeconds: options.retryAfterSeconds,
        }),
    );
  }

  /**
   * A promise chain rather than an async function: one request's publish is on the hot path, and each `await`
   * costs microtask turns. Refusals (closing, overloaded) reject the returned promise, as an async function's would.
   */
  publish(messages: readonly OutboundMessage[]): Promise<void> {
    const retryAfterSeconds = this.options.retryAfterSeconds;
    if (this.closing) {
      return Promise.reject(new CollectorError('SLUICE_ERR_PUBLISHER_SHUTTING_DOWN', { retryAfterSeconds }));
    }
    if (messages.length === 0) return Promise.resolve();
    let bytes = 0;
    for (const m of messages) bytes += m.data.length;
    if (this.inflight > 0 && this.inflight + bytes > this.options.maxInflightBytes) {
      return Promise.reject(new CollectorError('SLUICE_ERR_PUBLISHER_OVERLOADED', { retryAfterSeconds }));
    }
    this.inflight += bytes;
    const started = performance.now();
    const settled: Promise<void> = this.transport.publish(messages).then(
      () => this.release(bytes, settled),
      (error: unknown) => {
        this.release(bytes, settled);
        throw error;
      },
    );
    this.pending.add(settled);
    return this.deadlines.within(settled).then(
      () => {
        this.metrics.publish((performance.now() - started) / 1000, true);
      },
      (error: unknown) => {
        this.metrics.publish((performance.now() - started) / 1000, false);
        if (error instanceof CollectorError) throw error;
        throw new CollectorError('SLUICE_ERR_PUBLISHER_PUBLISH_FAILED', { retryAfterSeconds, cause: error });
      },
    );
  }

  private release(bytes: number, settled: Promise<void>): void {
    this.inflight -= bytes;
    this.pending.delete(settled);
  }

  /** Refuses new publishes and waits (bounded) for those in flight. */
  async drain(timeoutMs: number): Promise<void> {
    this.closing = true;
    await settledWithin([...this.pending], timeoutMs);
  }
}
