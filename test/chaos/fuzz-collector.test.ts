/** Collector fuzz, short form (in `npm test`): hostile requests nested up to 1,000 levels. */
import { describe, expect, it } from 'vitest';
import { collectorFuzz } from './fuzz/collector-fuzz.ts';

describe('collector fuzz (fast-check, in process)', () => {
  it('never a 5xx for a client error, never a crash, one JSON line per accepted event', async () => {
    expect(await collectorFuzz({ numRuns: 1500, maxDepth: 1000, exactDigits: false })).toBeUndefined();
  }, 120_000);
});
