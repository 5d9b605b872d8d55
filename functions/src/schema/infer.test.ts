import { isDateTime } from '@sluice/sdk/protocol';
import fc from 'fast-check';
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

  // Compiled shapes rely on this: a TIMESTAMP value (rfc3339 accepts it) needs no protocol date-time check.
  it('accepts only what the protocol takes as a date-time (at most 64 characters, isDateTime)', () => {
    const digit = fc.constantFrom(...'0123456789');
    const stamp = fc
      .tuple(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.constantFrom('T', 't'),
        fc.constantFrom('', '.1', '.123', '.123456', '.123456789', '.1234567891'),
        fc.constantFrom('Z', 'z', '+00:00', '-23:59', '+14:00', '+24:00', '+05:60', '+0530'),
      )
      .map(
        ([d, t, fraction, zone]) =>
          `${d.toISOString().slice(0, 10)}${t}${d.toISOString().slice(11, 19)}${fraction}${zone}`,
      );
    // Accepted stamps, and every one of them with up to three characters changed (impossible dates among them).
    const changed = fc
      .tuple(
        stamp,
        fc.array(fc.tuple(fc.nat(34), fc.oneof(digit, fc.constantFrom(...':-.TZtz +'))), { maxLength: 3 }),
      )
      .map(([s, edits]) => edits.reduce((v, [at, c]) => v.slice(0, at) + c + v.slice(at + 1), s));
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(stamp, changed), (value) => {
        if (rfc3339(value) === undefined) return;
        accepted++;
        expect(value.length).toBeLessThanOrEqual(64);
        expect(isDateTime(value), value).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(5_000);
  });
});
