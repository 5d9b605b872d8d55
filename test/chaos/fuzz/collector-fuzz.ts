/**
 * The collector fuzz property, in process (Fastify inject, in-memory transport): whatever a client sends, the
 * answer is never a 5xx (the broker never fails here, so every error is the client's), the process keeps
 * answering, and it publishes one line of JSON per accepted event. With `exactDigits`, an accepted event's big
 * integers reach the published line with every digit.
 */
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import fc from 'fast-check';
import { fuzzRequests } from './collector-requests.ts';
import { describeFailure } from './describe-failure.ts';

export interface CollectorFuzzOptions {
  numRuns: number;
  maxDepth: number;
  exactDigits: boolean;
  seed?: number;
}

/** Runs the property; resolves with undefined, or a short description of the first (shrunk) failure. */
export async function collectorFuzz(options: CollectorFuzzOptions): Promise<string | undefined> {
  const transport = new InMemoryTransport();
  const { app } = buildApp(loadConfig({ SLUICE_WRITE_KEY: 'fuzz-key', SLUICE_TRANSPORT: 'pubsub' }), {
    transport,
  });
  try {
    const details = await fc.check(
      fc.asyncProperty(fuzzRequests('fuzz-key', 'fz', options.maxDepth), async (request) => {
        const before = transport.messages.length;
        const response = await app.inject({
          method: 'POST',
          url: request.url,
          headers: request.headers,
          payload: request.body,
        });
        if (response.statusCode >= 500)
          throw new Error(`answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
        const published = transport.messages.slice(before);
        for (const m of published) {
          if (m.data.includes('\n')) throw new Error('a published line contains a raw newline');
          const parsed = JSON.parse(m.data) as { messageId?: unknown };
          const lost = (request.digits.get(String(parsed.messageId)) ?? []).filter(
            (d) => !m.data.includes(d),
          );
          if (options.exactDigits && lost.length > 0)
            throw new Error(`published line lost the digits of ${lost.join(', ')}`);
        }
        if (response.statusCode === 200 && published.length !== request.ids.length) {
          throw new Error(`200 for ${request.ids.length} events but ${published.length} published`);
        }
        const health = await app.inject({ method: 'GET', url: '/healthz' });
        if (health.statusCode !== 200) throw new Error(`/healthz answered ${health.statusCode} afterwards`);
      }),
      { numRuns: options.numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }) },
    );
    if (!details.failed) return undefined;
    return describeFailure(details);
  } finally {
    await app.close();
  }
}
