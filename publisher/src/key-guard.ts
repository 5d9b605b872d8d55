import type { FastifyRequest } from 'fastify';
import type { Clock } from './clock.ts';
import type { RateLimit } from './config.ts';
import { CollectorError } from './errors.ts';
import { clientAddress } from './ip.ts';
import { TokenBuckets } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The failed-lookup limit of this app (SLUICE_AUTH_FAILURES_PER_MINUTE); undefined when turned off. */
    keyLookupGuard: KeyLookupGuard | undefined;
  }
}

/**
 * Failed write-key lookups per client address: every unknown key takes a token; an address without tokens gets 429
 * (`SLUICE_ERR_PUBLISHER_AUTH_THROTTLED`) on every lookup, known key or not (else the answer would still tell a right
 * guess from a wrong one). Checked and counted in the same synchronous step as the lookup, so concurrent guesses
 * cannot all slip past the check before the first failure is counted.
 */
export interface KeyLookupGuard {
  /** Throws 429 when the request's address has no tokens left. */
  assertAllowed(request: FastifyRequest): void;
  /** Counts one failed lookup for the request's address. */
  failed(request: FastifyRequest): void;
}

export function createKeyLookupGuard(limit: RateLimit, clock: Clock): KeyLookupGuard | undefined {
  const buckets = new TokenBuckets(limit);
  if (!buckets.enabled) return undefined;
  return {
    assertAllowed(request) {
      const wait = buckets.wait(clientAddress(request), clock.now().getTime());
      if (wait > 0)
        throw new CollectorError('SLUICE_ERR_PUBLISHER_AUTH_THROTTLED', { retryAfterSeconds: wait });
    },
    failed(request) {
      buckets.take(clientAddress(request), 1, clock.now().getTime());
    },
  };
}
