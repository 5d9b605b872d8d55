import { describe, expect, it } from 'vitest';
import { createLedger } from './ledger.ts';

describe('chaos ledger', () => {
  it('acknowledges a 200, the unlisted indexes of a partial 400, and a resend that finally got a 200', () => {
    const ledger = createLedger();
    ledger.record(['a', 'b'], 200, { success: true });
    ledger.record(['c', 'd', 'e'], 400, {
      code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL',
      rejected: [{ index: 1, code: 'SLUICE_ERR_PUBLISHER_SCHEMA' }],
    });
    ledger.record(['f'], 503, { code: 'SLUICE_ERR_PUBLISHER_UNAVAILABLE' });
    ledger.record(['f'], 0, 'fetch failed');
    ledger.record(['f'], 200, { success: true });
    expect(ledger.acknowledged().sort()).toEqual(['a', 'b', 'c', 'e', 'f']);
    expect(ledger.rejected()).toEqual([{ id: 'd', status: 400, code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL' }]);
    expect(ledger.statuses()).toEqual({ '200': 2, '400': 1, '503': 1, 'network-error': 1 });
  });

  it('refuses every id of a 4xx that is not a partial batch, and never acknowledges on a 5xx', () => {
    const ledger = createLedger();
    ledger.record(['x', 'y'], 400, { code: 'SLUICE_ERR_PUBLISHER_SCHEMA', rejected: [{ index: 0 }] });
    ledger.record(['z'], 500, { code: 'SLUICE_ERR_PUBLISHER_INTERNAL' });
    expect(ledger.acknowledged()).toEqual([]);
    expect(ledger.rejected().map((r) => r.id)).toEqual(['x', 'y']);
  });
});
