import type { DuckDBConnection } from '@duckdb/node-api';
import { quarantinedRecord } from '../bookkeeping-tables.ts';
import type { AttemptFailure, LoadAttempts, LoadMeta, LoadRecord } from '../destination.ts';
import { TABLES } from '../destination.ts';
import { findLoadIn, insertLoadRow, loadRecordsIn } from './loads-rows.ts';
import { ident } from './sql.ts';

/**
 * `LoadAttempts` on a DuckDB warehouse: the count lives in `_sluice_load_attempts` (one row per key), each call one
 * autocommitted statement or a short transaction. The caller holds the file (`DuckDBInstances`), so no other load
 * writes meanwhile.
 */
export function duckdbLoadAttempts(conn: () => DuckDBConnection): LoadAttempts {
  return {
    async findQuarantine(loadKey: string): Promise<LoadRecord | undefined> {
      const rows = await loadRecordsIn(conn(), loadKey, ['quarantined']);
      return rows[rows.length - 1];
    },

    async recordFailedAttempt(loadKey: string, failure: AttemptFailure): Promise<number> {
      const c = conn();
      const t = ident(TABLES.loadAttempts);
      await c.run('BEGIN TRANSACTION');
      try {
        const reader = await c.runAndReadAll(
          `SELECT CAST(coalesce(max(attempts), 0) AS DOUBLE) FROM ${t} WHERE load_key = $1`,
          [loadKey],
        );
        const attempts = Number(reader.getRows()[0]?.[0] ?? 0) + 1;
        await c.run(`DELETE FROM ${t} WHERE load_key = $1`, [loadKey]);
        await c.run(
          `INSERT INTO ${t} (load_key, attempts, last_code, last_reason, updated_at)
           VALUES ($1, $2, $3, $4, current_timestamp)`,
          [loadKey, attempts, failure.code, failure.reason],
        );
        await c.run('COMMIT');
        return attempts;
      } catch (error) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },

    async resetAttempts(loadKey: string): Promise<void> {
      await conn().run(`DELETE FROM ${ident(TABLES.loadAttempts)} WHERE load_key = $1`, [loadKey]);
    },

    async quarantine(meta: LoadMeta, reason: string, finishedAt: Date): Promise<LoadRecord> {
      const c = conn();
      await c.run('BEGIN TRANSACTION');
      try {
        const loaded = await findLoadIn(c, meta.loadKey);
        if (loaded) {
          await c.run('ROLLBACK');
          return loaded;
        }
        const record = quarantinedRecord(meta, reason, finishedAt);
        await insertLoadRow(c, record);
        await c.run('COMMIT');
        return record;
      } catch (error) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
  };
}
