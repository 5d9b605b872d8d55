import type { ColumnSchema } from '../destinations/destination.ts';
import type { Person } from './person.ts';
import type { PrivacyWarehouse } from './warehouse.ts';

export const LEDGER_TABLE = 'privacy_requests';

/** The ledger's columns (both destinations, mapped through their type maps). */
export const LEDGER_COLUMNS: readonly ColumnSchema[] = [
  { name: 'request_id', type: 'STRING' },
  { name: 'kind', type: 'STRING' },
  { name: 'status', type: 'STRING' },
  { name: 'reason', type: 'STRING' },
  /** JSON list of hashId() of every id of the request (given and linked): what stays once it is done. */
  { name: 'id_hashes', type: 'STRING' },
  /** JSON {userIds, anonymousIds} in clear while the request runs (to resume it); NULL once done. */
  { name: 'ids', type: 'STRING' },
  /** JSON: the rows per table and raw files the request found before erasing (what it removes). */
  { name: 'plan', type: 'STRING' },
  /** JSON table -> rows removed. */
  { name: 'rows_removed', type: 'STRING' },
  { name: 'files_rewritten', type: 'INT64' },
  { name: 'bytes_billed', type: 'INT64' },
  { name: 'requested_at', type: 'TIMESTAMP' },
  { name: 'finished_at', type: 'TIMESTAMP' },
  { name: 'error', type: 'STRING' },
];

export type RequestKind = 'delete' | 'suppress' | 'unsuppress';
export type RequestStatus = 'running' | 'done' | 'failed';

export interface PlannedFile {
  bucket: string;
  name: string;
  generation: string;
  lines: number;
}

export interface Plan {
  tables: Record<string, number>;
  files: PlannedFile[];
  /**
   * BigQuery: the UTC days (`YYYY-MM-DD`, null for rows without a partition value) holding the person's rows, per
   * table partitioned by day: each DELETE is limited to them (a constant filter BigQuery prunes on). Absent in
   * plans recorded before it existed (their DELETEs scan every partition).
   */
  partitions?: Record<string, (string | null)[]>;
}

export interface LedgerRow {
  requestId: string;
  kind: RequestKind;
  status: RequestStatus;
  reason: string | null;
  idHashes: string[];
  ids: Person | null;
  plan: Plan | null;
  rowsRemoved: Record<string, number> | null;
  filesRewritten: number;
  bytesBilled: bigint;
  requestedAt: string;
  finishedAt: string | null;
  error: string | null;
}

const SELECT_COLUMNS = LEDGER_COLUMNS.map((c) => c.name);

const json = <T>(v: unknown): T | null => (typeof v === 'string' && v !== '' ? (JSON.parse(v) as T) : null);
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const time = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const value = (v as { value?: unknown }).value ?? v;
  return new Date(value instanceof Date ? value : String(value)).toISOString();
};

function fromRow(row: Record<string, unknown>): LedgerRow {
  return {
    requestId: String(row.request_id),
    kind: String(row.kind) as RequestKind,
    status: String(row.status) as RequestStatus,
    reason: text(row.reason),
    idHashes: json<string[]>(row.id_hashes) ?? [],
    ids: json<Person>(row.ids),
    plan: json<Plan>(row.plan),
    rowsRemoved: json<Record<string, number>>(row.rows_removed),
    filesRewritten: Number(row.files_rewritten ?? 0),
    bytesBilled: BigInt(String(row.bytes_billed ?? 0)),
    requestedAt: time(row.requested_at) ?? '',
    finishedAt: time(row.finished_at),
    error: text(row.error),
  };
}

/** The `privacy_requests` table: one row per request, updated as it runs (all values are parameters). */
export function ledger(wh: PrivacyWarehouse) {
  const d = wh.dialect;
  const t = d.table(LEDGER_TABLE);
  const cols = SELECT_COLUMNS.map((c) => d.column(c)).join(', ');
  const select = `SELECT ${cols} FROM ${t}`;
  return {
    async ensure(): Promise<void> {
      await wh.ensureTable(LEDGER_TABLE, LEDGER_COLUMNS);
    },
    async get(requestId: string): Promise<LedgerRow | undefined> {
      const rows = await wh.select(`${select} WHERE ${d.column('request_id')} = ${d.value('id')}`, {
        values: { id: requestId },
      });
      return rows[0] ? fromRow(rows[0]) : undefined;
    },
    async list(): Promise<LedgerRow[]> {
      const rows = await wh.select(`${select} ORDER BY ${d.column('requested_at')}`);
      return rows.map(fromRow);
    },
    /** An unfinished (running or failed) request of this kind covering all these id hashes: a re-run resumes it. */
    async findRunning(kind: RequestKind, idHashes: readonly string[]): Promise<LedgerRow | undefined> {
      const rows = await wh.select(
        `${select} WHERE ${d.column('kind')} = ${d.value('kind')} AND ${d.column('status')} IN ('running', 'failed')`,
        { values: { kind } },
      );
      return rows.map(fromRow).find((r) => r.ids !== null && idHashes.every((h) => r.idHashes.includes(h)));
    },
    async insert(row: LedgerRow): Promise<void> {
      await wh.exec(
        `INSERT INTO ${t} (${cols}) VALUES (${d.value('request_id')}, ${d.value('kind')}, ${d.value('status')}, ${d.value('reason')}, ${d.value('id_hashes')}, ${d.value('ids')}, ${d.value('plan')}, ${d.value('rows_removed')}, ${d.int(d.value('files_rewritten'))}, ${d.int(d.value('bytes_billed'))}, ${d.timestamp(d.value('requested_at'))}, ${d.timestamp(d.value('finished_at'))}, ${d.value('error')})`,
        { values: values(row) },
      );
    },
    /** Rewrites the row's mutable columns. */
    async update(row: LedgerRow): Promise<void> {
      const set = ['status', 'id_hashes', 'ids', 'plan', 'rows_removed', 'error'].map(
        (c) => `${d.column(c)} = ${d.value(c)}`,
      );
      set.push(
        `${d.column('files_rewritten')} = ${d.int(d.value('files_rewritten'))}`,
        `${d.column('bytes_billed')} = ${d.int(d.value('bytes_billed'))}`,
        `${d.column('finished_at')} = ${d.timestamp(d.value('finished_at'))}`,
      );
      await wh.exec(
        `UPDATE ${t} SET ${set.join(', ')} WHERE ${d.column('request_id')} = ${d.value('request_id')}`,
        { values: values(row) },
      );
    },
  };
}

function values(row: LedgerRow): Record<string, string | null> {
  return {
    request_id: row.requestId,
    kind: row.kind,
    status: row.status,
    reason: row.reason,
    id_hashes: JSON.stringify(row.idHashes),
    ids: row.ids === null ? null : JSON.stringify(row.ids),
    plan: row.plan === null ? null : JSON.stringify(row.plan),
    rows_removed: row.rowsRemoved === null ? null : JSON.stringify(row.rowsRemoved),
    files_rewritten: String(row.filesRewritten),
    bytes_billed: String(row.bytesBilled),
    requested_at: row.requestedAt,
    finished_at: row.finishedAt,
    error: row.error,
  };
}
