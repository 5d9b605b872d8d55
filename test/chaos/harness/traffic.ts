/**
 * Steady traffic from the load generator's event mix (`generateEvents`, the public loadgen of @sluice/publisher),
 * paced at a rate, each answer recorded in the ledger. Like an SDK, a batch answered 5xx or lost to a network
 * error is resent (same messageIds) until it is answered or the traffic is stopped.
 */
import { generateEvents } from '@sluice/publisher';
import type { Ledger } from './ledger.ts';

export interface TrafficTarget {
  collectorUrl: string;
  writeKey: string;
}

export interface TrafficOptions {
  /** Events per second. */
  rate: number;
  batchSize: number;
  /** Prefix of every messageId (unique per scenario). */
  idPrefix: string;
  seed?: number;
  /** Share of events the generator makes invalid on purpose (the collector must refuse them). Default 0.02. */
  invalidRate?: number;
  /** Most batches in flight at once (resends included). Default 8. */
  concurrency?: number;
}

export interface Traffic {
  /** Changes the rate from now on (a burst, then back). */
  setRate(eventsPerSecond: number): void;
  /** Stops generating and resolves once every batch sent so far is answered (or abandoned). */
  pause(): Promise<void>;
  resume(): void;
  /** Events generated so far. */
  readonly sent: number;
  /** Stops generating; waits up to `graceMs` for batches still being resent, then abandons them. */
  stop(graceMs?: number): Promise<void>;
}

export interface PostResult {
  status: number;
  body: unknown;
}

const auth = (writeKey: string): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

/** POSTs one body to `/v1/batch` (or another route) and records its answer for `ids` in the ledger. */
export async function postBatch(
  target: TrafficTarget,
  ledger: Ledger,
  ids: readonly string[],
  body: string,
  route = '/v1/batch',
): Promise<PostResult> {
  let result: PostResult;
  try {
    const response = await fetch(`${target.collectorUrl}${route}`, {
      method: 'POST',
      headers: { authorization: auth(target.writeKey), 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    result = { status: response.status, body: parsed };
  } catch (error) {
    result = { status: 0, body: error instanceof Error ? error.message : String(error) };
  }
  ledger.record(ids, result.status, result.body);
  return result;
}

/** A batch body for `events`, with `sentAt` now. */
export const batchBody = (events: readonly Record<string, unknown>[]): string =>
  JSON.stringify({ batch: events, sentAt: new Date().toISOString() });

export function startTraffic(target: TrafficTarget, ledger: Ledger, options: TrafficOptions): Traffic {
  const seed = options.seed ?? 7;
  let rate = options.rate;
  let stopped = false;
  let paused = false;
  let sent = 0;
  let generated: Record<string, unknown>[] = [];
  const inFlight = new Set<Promise<void>>();
  const abandon = new AbortController();
  let signalStop = (): void => undefined;
  const stopSignal = new Promise<void>((resolve) => {
    signalStop = resolve;
  });
  const limit = options.concurrency ?? 8;

  const nextEvents = (count: number): Record<string, unknown>[] => {
    while (generated.length < count) {
      const more = generateEvents({
        seed: seed + sent + generated.length,
        users: 50,
        eventsPerUser: 20,
        invalidRate: options.invalidRate ?? 0.02,
        start: new Date(Date.now() - 3_600_000),
      });
      generated = generated.concat(more.map((g) => g.event));
    }
    const out = generated.slice(0, count);
    generated = generated.slice(count);
    return out.map((event) => ({ ...event, messageId: `${options.idPrefix}-${sent++}` }));
  };

  const sendWithResends = async (events: Record<string, unknown>[]): Promise<void> => {
    const ids = events.map((e) => String(e.messageId));
    for (;;) {
      const { status } = await postBatch(target, ledger, ids, batchBody(events));
      if ((status >= 200 && status < 500 && status !== 429) || abandon.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (abandon.signal.aborted) return;
    }
  };

  const loop = async (): Promise<void> => {
    let due = performance.now();
    while (!stopped) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopped) break;
      if (paused) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        due = performance.now();
        continue;
      }
      if (inFlight.size >= limit) {
        await Promise.race([...inFlight, stopSignal]);
        continue;
      }
      const task = sendWithResends(nextEvents(options.batchSize));
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      due += (options.batchSize / rate) * 1000;
      // After a stall (collector down), do not fire the backlog at once: resume the pace from now.
      if (due < performance.now() - 1000) due = performance.now();
    }
  };
  const running = loop();

  return {
    setRate(eventsPerSecond) {
      rate = eventsPerSecond;
    },
    async pause() {
      paused = true;
      while (inFlight.size > 0 && !stopped) await Promise.race([Promise.all([...inFlight]), stopSignal]);
    },
    resume() {
      paused = false;
    },
    get sent() {
      return sent;
    },
    async stop(graceMs = 20_000) {
      if (stopped && inFlight.size === 0) return;
      stopped = true;
      signalStop();
      // The timer starts first: the pacing loop may itself be waiting on batches that are being resent.
      const timer = setTimeout(() => abandon.abort(), graceMs);
      await running;
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      clearTimeout(timer);
    },
  };
}
