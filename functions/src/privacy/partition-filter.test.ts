import { describe, expect, it } from 'vitest';
import { bigQueryDialect } from './bigquery-warehouse.ts';
import { partitionFilter } from './partition-filter.ts';

describe('the partition filter of a BigQuery DELETE', () => {
  it('merges contiguous days into ranges (month and year ends included), adds NULL partitions, selects nothing for none', () => {
    const d = bigQueryDialect('p', 'd');
    const f = partitionFilter(d, 'timestamp', ['2026-01-03', '2025-12-31', '2026-01-01', '2026-01-01', null]);
    expect(f.sql).toBe(
      '(`timestamp` >= CAST(@p_lo0 AS TIMESTAMP) AND `timestamp` < CAST(@p_hi0 AS TIMESTAMP)) OR (`timestamp` >= CAST(@p_lo1 AS TIMESTAMP) AND `timestamp` < CAST(@p_hi1 AS TIMESTAMP)) OR `timestamp` IS NULL',
    );
    expect(f.values).toEqual({
      p_lo0: '2025-12-31T00:00:00Z',
      p_hi0: '2026-01-02T00:00:00Z',
      p_lo1: '2026-01-03T00:00:00Z',
      p_hi1: '2026-01-04T00:00:00Z',
    });
    expect(partitionFilter(d, 'loaded_at', []).sql).toBe('FALSE');
  });
});
