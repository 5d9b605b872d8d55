/** What both identity stores share: the id-list chunking, and the timestamp forms they read back. */

/** Ids per statement: DuckDB binds each as parameters; BigQuery takes them as one array parameter per chunk. */
export const CHUNK = 400;

/** `items` in consecutive slices of at most `size` (the one chunking rule of both stores). */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `read` per chunk of `items` and returns the distinct results (in first-seen order). */
export async function distinctOverChunks<T>(
  items: readonly T[],
  read: (part: readonly T[]) => Promise<string[]>,
  size = CHUNK,
): Promise<string[]> {
  const out = new Set<string>();
  for (const part of chunks(items, size)) for (const v of await read(part)) out.add(v);
  return [...out];
}

/** A TIMESTAMP read back as text (`2026-01-01 00:00:00.123456+00`, either destination's form) -> epoch micros. */
export function timestampMicros(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?$/.exec(
    text.trim(),
  );
  if (!m) return Number.NaN;
  const zone =
    m[4] === undefined || m[4] === 'UTC' || m[4] === 'Z' ? 'Z' : m[4].length === 3 ? `${m[4]}:00` : m[4];
  const seconds = Date.parse(`${m[1]}T${m[2]}${zone}`);
  const fraction = (m[3] ?? '.').slice(1).padEnd(6, '0').slice(0, 6);
  return seconds * 1000 + Number(fraction);
}

/** Epoch microseconds -> RFC 3339 with six fraction digits. */
export const isoOfMicros = (us: number): string =>
  new Date(Math.floor(us / 1000)).toISOString().replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);
