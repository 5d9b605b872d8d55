/**
 * The event-time rule shared by the collector (which writes `timestamp`) and the loader (which reads it): an
 * instant the collector writes lies in the range a warehouse TIMESTAMP holds, four-digit years 0001 through 9999
 * (BigQuery's TIMESTAMP range), so that `Date#toISOString`'s form of it is a date-time `isDateTime` accepts and
 * the loader types as TIMESTAMP.
 */
export const TIMESTAMP_RANGE_MS = {
  /** 0001-01-01T00:00:00.000Z */
  min: -62_135_596_800_000,
  /** 9999-12-31T23:59:59.999Z */
  max: 253_402_300_799_999,
} as const;

/** Whether `ms` is an integral instant in `TIMESTAMP_RANGE_MS`. */
export function isTimestampInRange(ms: number): boolean {
  return Number.isInteger(ms) && ms >= TIMESTAMP_RANGE_MS.min && ms <= TIMESTAMP_RANGE_MS.max;
}

/**
 * The skew-corrected event time (Segment's rule): `receivedAt - (sentAt - original)` when the client sent both its
 * event time and its send time, `original` when it sent only the event time, `receivedAt` when it sent neither.
 * When that instant falls outside `TIMESTAMP_RANGE_MS` (a client clock so far off that the correction means
 * nothing: `timestamp 9999-12-31T23:59:59.999Z` with `sentAt 0000-01-01T00:00:00.000Z`), the event time is
 * `receivedAt`, the one clock the collector trusts. Arguments are epoch milliseconds; NaN or undefined means the
 * client did not send that time (or sent one that does not parse).
 */
export function correctedTimestampMs(
  receivedAtMs: number,
  originalMs: number | undefined,
  sentAtMs: number | undefined,
): number {
  if (originalMs === undefined || Number.isNaN(originalMs)) return receivedAtMs;
  const corrected =
    sentAtMs === undefined || Number.isNaN(sentAtMs) ? originalMs : receivedAtMs - (sentAtMs - originalMs);
  return isTimestampInRange(corrected) ? corrected : receivedAtMs;
}
