import { createHash } from 'node:crypto';
import type { CellValue, LogicalType, StagedRow } from '../destination.ts';
import { STAGE_COLUMNS } from './table-layout.ts';

/** 24 hex characters of sha256: the load's short, deterministic identity in job ids, tables and objects. */
export function loadHash(loadKey: string): string {
  return createHash('sha256').update(loadKey).digest('hex').slice(0, 24);
}

/** A name fragment that is valid in job ids and table names (letters, digits, underscore), bounded in length. */
export function idFragment(name: string, max = 200): string {
  const clean = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (clean.length <= max) return clean;
  return `${clean.slice(0, max - 9)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** BigQuery timestamp literal/parameter text: `YYYY-MM-DD HH:MM:SS.ffffff+00:00`. */
export function bigQueryTimestamp(at: Date): string {
  return `${at.toISOString().replace('T', ' ').replace('Z', '')}000+00:00`;
}

function cell(value: CellValue, type: LogicalType | undefined): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return value.toString(); // BigQuery accepts quoted INT64 in JSON loads.
  if (type === 'JSON' && typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown; // a JSON column takes the JSON value itself, not its text.
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * One staged row as an NDJSON line for a load job: the table's cells plus the stage columns. `overrides` replace
 * the cells of columns the row sets (a retried delivery writes the first delivery's load id and time, so its rows
 * are byte-identical).
 */
export function stagedLine(
  row: StagedRow,
  types: ReadonlyMap<string, LogicalType> | undefined,
  dedupWindowMs: number,
  overrides: Readonly<Record<string, CellValue>> = {},
): string {
  const out: Record<string, unknown> = {};
  for (let k = 0; k < row.at.length; k++) {
    const column = row.columns[row.at[k] as number] as string;
    const value = column in overrides ? (overrides[column] as CellValue) : (row.cells[k] as CellValue);
    out[column] = cell(value, types?.get(column));
  }
  const received = new Date(row.receivedAt);
  out[STAGE_COLUMNS.eventId] = row.eventId;
  out[STAGE_COLUMNS.line] = row.line;
  out[STAGE_COLUMNS.receivedAt] = row.receivedAt;
  out[STAGE_COLUMNS.dedupFrom] = new Date(received.getTime() - dedupWindowMs).toISOString();
  return JSON.stringify(out);
}

/** A plain row (bookkeeping tables) as an NDJSON line. */
export function plainLine(
  values: Record<string, CellValue>,
  types?: ReadonlyMap<string, LogicalType>,
): string {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(values)) out[column] = cell(value, types?.get(column));
  return JSON.stringify(out);
}
