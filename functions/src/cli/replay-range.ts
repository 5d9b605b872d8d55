import { DEFAULT_RAW_NAMING, parseRawObjectTime } from '@sluice/sdk/protocol';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';

export interface TimeRange {
  from: Date;
  /** Exclusive. */
  to: Date;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** `--from`/`--to`: a date (whole UTC day; `--to` includes its day) or an ISO date-time (`--to` exclusive). */
export function parseRange(
  from: string,
  to: string,
): { ok: true; from: Date; to: Date } | { ok: false; problem: string } {
  const start = new Date(DATE_ONLY.test(from) ? `${from}T00:00:00Z` : from);
  let end = new Date(DATE_ONLY.test(to) ? `${to}T00:00:00Z` : to);
  if (Number.isNaN(start.getTime())) return { ok: false, problem: `--from: not a date: ${from}` };
  if (Number.isNaN(end.getTime())) return { ok: false, problem: `--to: not a date: ${to}` };
  if (DATE_ONLY.test(to)) end = new Date(end.getTime() + 24 * 3600 * 1000);
  if (end <= start) return { ok: false, problem: '--to must not be before --from' };
  return { ok: true, from: start, to: end };
}

/**
 * Raw files (DEFAULT_RAW_NAMING) whose window start (parseRawObjectTime) lies in [from, to), in name (= time)
 * order.
 */
export async function selectObjects(
  store: ObjectStore,
  bucket: string,
  range: TimeRange,
): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const object of store.list(bucket, DEFAULT_RAW_NAMING.prefix)) {
    const at = parseRawObjectTime(DEFAULT_RAW_NAMING, object.name);
    if (at && at >= range.from && at < range.to) out.push(object);
  }
  return out;
}
