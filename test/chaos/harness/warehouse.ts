/**
 * What the warehouse holds, read through the public query entry point (`queryWarehouse`, read-only): how often
 * each id was loaded into a Segment table, the failed events, the loads rows.
 */
import { existsSync } from 'node:fs';
import { type Cell, queryWarehouse } from '@sluice/infra/local';

/** Every event lands in exactly one of these (plus its per-event table for tracks). */
const EVENT_TABLES = ['tracks', 'identifies', 'pages', 'screens', 'groups', 'aliases'];

export interface LoadRow {
  name: string;
  status: string;
  reason: string | null;
  linesRead: number;
  eventsLoaded: number;
  duplicates: number;
  failed: number;
}

export interface FailedRow {
  eventId: string | null;
  code: string | null;
  reason: string | null;
  name: string | null;
}

export interface WarehouseState {
  /** id → number of rows with that id across the six event tables. */
  idCounts: Map<string, number>;
  failed: FailedRow[];
  loads: LoadRow[];
}

const EMPTY: WarehouseState = { idCounts: new Map(), failed: [], loads: [] };

/**
 * The loader holds the file's write lock for the whole of each load (1.5-3 s a small file here, longer for big
 * ones, back to back under a backlog): a reader waits for a gap between loads rather than failing.
 */
const LOCK_WAIT_MS = 45_000;

async function rows(path: string, sql: string): Promise<Record<string, Cell>[]> {
  const result = await queryWarehouse(path, sql, { lockRetryMs: LOCK_WAIT_MS });
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null])));
}

const text = (v: Cell | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** Reads the warehouse once (several read-only opens). Empty before the first load. */
export async function readWarehouse(path: string): Promise<WarehouseState> {
  if (!existsSync(path)) return EMPTY;
  const columns = await rows(
    path,
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'",
  );
  const has = (table: string, column?: string): boolean =>
    columns.some((c) => c.table_name === table && (column === undefined || c.column_name === column));
  const tables = EVENT_TABLES.filter((t) => has(t, 'id'));
  const idCounts = new Map<string, number>();
  if (tables.length > 0) {
    const union = tables.map((t) => `SELECT CAST(id AS VARCHAR) AS id FROM "${t}"`).join(' UNION ALL ');
    for (const r of await rows(path, `SELECT id, count(*) AS n FROM (${union}) GROUP BY id`)) {
      idCounts.set(String(r.id), Number(r.n));
    }
  }
  const failed: FailedRow[] = has('_sluice_failed_events')
    ? (
        await rows(
          path,
          'SELECT CAST(event_id AS VARCHAR) AS event_id, error_code, reason, name FROM _sluice_failed_events',
        )
      ).map((r) => ({
        eventId: text(r.event_id),
        code: text(r.error_code),
        reason: text(r.reason),
        name: text(r.name),
      }))
    : [];
  const reasonColumn = has('_sluice_loads', 'reason') ? 'reason' : 'NULL AS reason';
  const loads: LoadRow[] = has('_sluice_loads')
    ? (
        await rows(
          path,
          `SELECT name, status, ${reasonColumn}, lines_read, events_loaded, duplicates, failed FROM _sluice_loads`,
        )
      ).map((r) => ({
        name: String(r.name),
        status: String(r.status),
        reason: text(r.reason),
        linesRead: Number(r.lines_read),
        eventsLoaded: Number(r.events_loaded),
        duplicates: Number(r.duplicates),
        failed: Number(r.failed),
      }))
    : [];
  return { idCounts, failed, loads };
}

/** Rows of `table` whose id is `id`, every column as text (for exactness checks such as big integers). */
export async function rowAsText(
  path: string,
  table: string,
  id: string,
): Promise<Record<string, string | null>[]> {
  const found = await rows(
    path,
    `SELECT * FROM "${table.replaceAll('"', '""')}" WHERE CAST(id AS VARCHAR) = '${id.replaceAll("'", "''")}'`,
  );
  return found.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, text(v)])));
}
