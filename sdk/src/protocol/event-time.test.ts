import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDateTime } from './check.ts';
import { correctedTimestampMs, isTimestampInRange, TIMESTAMP_RANGE_MS } from './event-time.ts';

const instant = fc.oneof(
  fc.integer({ min: -8.64e15, max: 8.64e15 }),
  fc.constantFrom(
    TIMESTAMP_RANGE_MS.min,
    TIMESTAMP_RANGE_MS.max,
    TIMESTAMP_RANGE_MS.min - 1,
    TIMESTAMP_RANGE_MS.max + 1,
  ),
);

describe('correctedTimestampMs', () => {
  it('always yields an instant in the warehouse range, whose ISO form the protocol accepts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.option(instant, { nil: undefined }),
        fc.option(fc.oneof(instant, fc.constant(Number.NaN)), { nil: undefined }),
        (received, original, sentAt) => {
          const ms = correctedTimestampMs(received, original, sentAt);
          expect(isTimestampInRange(ms)).toBe(true);
          const iso = new Date(ms).toISOString();
          expect(iso).toMatch(/^\d{4}-/);
          expect(isDateTime(iso)).toBe(true);
        },
      ),
    );
  });

  it("is Segment's receivedAt - (sentAt - original), else the original, else receivedAt", () => {
    const received = Date.UTC(2024, 4, 1, 12);
    expect(correctedTimestampMs(received, received - 60_000, received + 5_000)).toBe(received - 65_000);
    expect(correctedTimestampMs(received, received - 60_000, undefined)).toBe(received - 60_000);
    expect(correctedTimestampMs(received, undefined, received)).toBe(received);
  });

  it('falls back to receivedAt when the correction leaves years 0001-9999 (the 9999 / 0000 case)', () => {
    const received = Date.UTC(2026, 11, 3, 7, 43, 17, 999);
    const original = Date.parse('9999-12-31T23:59:59.999Z');
    const sentAt = Date.parse('0000-01-01T00:00:00.000Z');
    expect(correctedTimestampMs(received, original, sentAt)).toBe(received);
    expect(correctedTimestampMs(received, Date.parse('0000-06-01T00:00:00.000Z'), undefined)).toBe(received);
    expect(correctedTimestampMs(received, TIMESTAMP_RANGE_MS.max, undefined)).toBe(TIMESTAMP_RANGE_MS.max);
  });
});
