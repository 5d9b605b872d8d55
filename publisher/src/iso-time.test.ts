import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIsoTime } from './iso-time.ts';

const toIso = (ms: number): string => new Date(ms).toISOString();

describe('formatIsoTime', () => {
  it('writes what Date#toISOString writes, for any instant of years 0000-9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        expect(formatIsoTime(ms)).toBe(toIso(ms));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees at the calendar edges: epoch, leap days, century years, range ends', () => {
    const edges = [
      0,
      -1,
      951_782_400_000 /* 2000-02-29 */,
      4_107_542_399_999 /* 2100-02-28T23:59:59.999 */,
      -62_167_219_200_000,
      253_402_300_799_999,
      Date.parse('1969-12-31T23:59:59.999Z'),
    ];
    for (const ms of edges) expect(formatIsoTime(ms)).toBe(toIso(ms));
  });

  it('defers to toISOString outside 4-digit years and for fractions, and throws like it for NaN', () => {
    for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 8.64e15, 1.5]) {
      expect(formatIsoTime(ms)).toBe(toIso(ms));
    }
    expect(() => formatIsoTime(Number.NaN)).toThrow(RangeError);
  });
});
