// The memory limit a DuckDB commit runs with (issue 12, item 8: any fan-out within the limit).

const UNITS: Record<string, number> = {
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Tables and columns the configured limit covers (a typical window file: 7 tables, ~200 columns in all). */
const COVERED_TABLES = 100;
const COVERED_WIDTH = 150;

/**
 * The memory limit a commit runs with: the configured one, raised for an unusual fan-out. A transaction keeps its
 * uncommitted rows in DuckDB's transaction-local storage, which holds buffers per column of every table it appends
 * to and does not spill them, and appending to a wide table pins a block per column: 300 event names or a
 * 400-column table of thousands of rows exceed 96 MB (issue 12, item 8). The commit stays one transaction (atomic
 * visibility) and gets, on top of the configured limit, 64 KiB per column of each table beyond the first
 * `COVERED_TABLES`, and per column of the widest table beyond `COVERED_WIDTH` 640 KiB (1,000+ rows; data and
 * validity blocks) or 64 KiB. Measured: 300 tables of 10 columns need ~210 MB, a 402-column table of 5,000 rows
 * more than 190 MB. An ordinary file keeps the configured limit.
 */
export function commitMemoryLimit(
  configured: string,
  tables: readonly { columns: number; rows: number }[],
): string {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(configured.trim());
  const unit = UNITS[m?.[2]?.toLowerCase() ?? ''];
  if (!m || unit === undefined) return configured;
  const base = Number(m[1]) * unit;
  const byWidth = [...tables].sort((x, y) => y.columns - x.columns);
  let extra = 0;
  for (const t of byWidth.slice(COVERED_TABLES)) extra += t.columns * 64 * 1024;
  const widest = byWidth[0];
  if (widest && widest.columns > COVERED_WIDTH) {
    extra += (widest.columns - COVERED_WIDTH) * (widest.rows >= 1000 ? 640 : 64) * 1024;
  }
  return extra === 0 ? configured : `${Math.ceil((base + extra) / 1e6)}MB`;
}

/** How many times a commit that ran out of memory is retried at twice the limit (96 MB -> at most 768 MB). */
export const OUT_OF_MEMORY_RAISES = 3;

/** `limit` doubled (`96MB` -> `192MB`); undefined when it is not a size this module can read. */
export function doubledMemoryLimit(limit: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(limit.trim());
  const unit = UNITS[m?.[2]?.toLowerCase() ?? ''];
  if (!m || unit === undefined) return undefined;
  return `${Math.ceil((2 * Number(m[1]) * unit) / 1e6)}MB`;
}
