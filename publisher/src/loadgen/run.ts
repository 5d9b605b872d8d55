export interface LoadOptions {
  target: string;
  writeKey: string;
  events: Record<string, unknown>[];
  /** Events per second (0 = as fast as possible). */
  rate: number;
  durationSeconds: number;
  batchSize: number;
  concurrency: number;
}

export interface LoadReport {
  sentEvents: number;
  requests: number;
  seconds: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  byStatus: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Sends `events` to `<target>/v1/batch` at `rate` events/s until done or out of time. */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const url = new URL('/v1/batch', options.target).toString();
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + options.durationSeconds * 1000;
  let next = 0;
  let sentEvents = 0;
  const worker = async (): Promise<void> => {
    while (next < options.events.length && performance.now() < deadline) {
      const batch = options.events.slice(next, next + options.batchSize);
      next += batch.length;
      if (options.rate > 0) {
        const due = started + ((next - batch.length) / options.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= deadline) break;
      }
      const t0 = performance.now();
      let status = 'network-error';
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
        });
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        // counted as network-error
      }
      latencies.push(performance.now() - t0);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      sentEvents += batch.length;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    sentEvents,
    requests: latencies.length,
    seconds,
    eventsPerSecond: sentEvents / seconds,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
    },
    byStatus,
  };
}
