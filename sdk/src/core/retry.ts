/** What a delivery attempt came to. `after` is the delay the collector asked for (Retry-After), in ms. */
export type Outcome = { ok: true } | { ok: false; retry: boolean; status: number; after?: number };

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from `now`. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (!Number.isNaN(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Maps a collector response to an outcome: 2xx ok; 5xx and 429 retry; every other status is final. */
export function outcome(status: number, retryAfter: string | null | undefined, now: number): Outcome {
  if (status >= 200 && status < 300) return { ok: true };
  return {
    ok: false,
    retry: status >= 500 || status === 429,
    status,
    after: retryAfterMs(retryAfter, now),
  };
}

/**
 * Delay before retry `attempt` (1-based): exponential from `base`, capped at `cap`, with "equal jitter"
 * (half fixed, half random) so a fleet of clients does not retry in lockstep. A Retry-After from the collector
 * is honoured as given.
 */
export function backoff(attempt: number, base: number, cap: number, after?: number): number {
  if (after !== undefined) return after;
  const exp = Math.min(cap, base * 2 ** (attempt - 1));
  return exp / 2 + (Math.random() * exp) / 2;
}
