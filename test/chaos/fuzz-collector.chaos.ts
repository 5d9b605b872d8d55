/**
 * Collector fuzz, full form (`npm run test:chaos`): nesting up to 6,000 levels (the collector must answer a coded
 * 400, not 500) and big integers kept with every digit (issue 12 items 2 and 9).
 */
import { describe, expect, it } from 'vitest';
import { collectorFuzz } from './fuzz/collector-fuzz.ts';

describe('collector fuzz (fast-check, in process, full)', () => {
  it('nesting up to 6,000 levels: never a 5xx, never a crash', async () => {
    expect(await collectorFuzz({ numRuns: 1500, maxDepth: 6000, exactDigits: false })).toBeUndefined();
  }, 120_000);
  it('big integers reach the published line with every digit', async () => {
    expect(await collectorFuzz({ numRuns: 1500, maxDepth: 10, exactDigits: true })).toBeUndefined();
  }, 120_000);
});
