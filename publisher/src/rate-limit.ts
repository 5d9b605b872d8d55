import type { RateLimit } from './config.ts';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Token buckets keyed by a string (write key or client address). `take` returns 0 when the tokens were taken,
 * otherwise the seconds to wait before they would be available (the Retry-After).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
  ) {}

  get enabled(): boolean {
    return this.limit.perSecond > 0;
  }

  take(key: string, cost: number, nowMs: number): number {
    if (!this.enabled) return 0;
    const { perSecond, burst } = this.limit;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(nowMs);
      bucket = { tokens: burst, updatedMs: nowMs };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * perSecond);
    bucket.updatedMs = nowMs;
    // A request larger than the whole bucket is admitted when the bucket is full (else it could never pass).
    const needed = Math.min(cost, burst);
    if (bucket.tokens >= needed) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((needed - bucket.tokens) / perSecond));
  }

  /** Seconds until `key` could take one token (0 = now), without taking any. */
  wait(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key);
    if (!this.enabled || !bucket) return 0;
    const tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.limit.perSecond,
    );
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.limit.perSecond));
  }

  private evictFull(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * this.limit.perSecond;
      if (tokens >= this.limit.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}
