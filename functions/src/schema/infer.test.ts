import { describe, expect, it } from 'vitest';
import { inferLeaf, rfc3339 } from './infer.ts';

describe('inferLeaf', () => {
  it('types JSON leaves', () => {
    expect(inferLeaf(true)).toEqual({ type: 'BOOL', value: true });
    expect(inferLeaf(3)).toEqual({ type: 'INT64', value: 3 });
    expect(inferLeaf(3.5)).toEqual({ type: 'FLOAT64', value: 3.5 });
    expect(inferLeaf(1e20)).toEqual({ type: 'FLOAT64', value: 1e20 });
    expect(inferLeaf(9223372036854775807n)).toEqual({ type: 'INT64', value: 9223372036854775807n });
    expect(inferLeaf(9223372036854775808n)).toEqual({ type: 'STRING', value: '9223372036854775808' });
    expect(inferLeaf('hello')).toEqual({ type: 'STRING', value: 'hello' });
    expect(inferLeaf('2026-01-01T00:00:00Z')).toEqual({ type: 'TIMESTAMP', value: '2026-01-01T00:00:00Z' });
  });

  it('accepts RFC 3339 date-times only, with every field in range', () => {
    expect(rfc3339('2024-02-29T23:59:59.5+14:00')).toBe('2024-02-29T23:59:59.5+14:00');
    expect(rfc3339('2026-01-01T00:00:00.123456789Z')).toBe('2026-01-01T00:00:00.123456Z');
    for (const not of [
      '2026-01-01',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00Z',
      '2023-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:60Z',
      '0000-01-01T00:00:00Z',
      '2026-01-01T00:00:00+25:00',
    ]) {
      expect(rfc3339(not), not).toBeUndefined();
    }
  });
});
