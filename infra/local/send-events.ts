import type { SluiceEvent } from '@sluice/sdk/protocol';

export interface SendOptions {
  collectorUrl: string;
  writeKey: string;
  batchSize?: number;
  /** Attempts per batch on a network error or 5xx (the collector answers 503 + Retry-After when Pub/Sub is down). */
  attempts?: number;
}

/** Sends events through the Segment HTTP API (`POST /v1/batch`, write key as Basic username). */
export async function sendEvents(events: readonly SluiceEvent[], options: SendOptions): Promise<void> {
  const batchSize = options.batchSize ?? 100;
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  for (let i = 0; i < events.length; i += batchSize) {
    const body = JSON.stringify({ batch: events.slice(i, i + batchSize), sentAt: new Date().toISOString() });
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const response = await fetch(`${options.collectorUrl}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body,
        });
        const text = await response.text();
        if (response.ok) break;
        problem = `HTTP ${response.status}: ${text.slice(0, 500)}`;
        if (response.status < 500) throw new Error(`collector rejected batch ${i / batchSize}: ${problem}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('collector rejected')) throw error;
        problem = error instanceof Error ? error.message : String(error);
      }
      if (attempt >= (options.attempts ?? 5)) {
        throw new Error(`batch ${i / batchSize} not accepted after ${attempt} attempts: ${problem}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
