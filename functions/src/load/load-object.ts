import { randomUUID } from 'node:crypto';
import { ROW_META_COLUMNS } from '../destinations/bookkeeping-tables.ts';
import type {
  ColumnSchema,
  Destination,
  FailedEvent,
  LoadRecord,
  SchemaChange,
  StagedRow,
} from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { namingRules } from '../naming/identifier.ts';
import { NameCache } from '../naming/name-cache.ts';
import { normalizeLine } from '../normalize/normalize-line.ts';
import type { Contracts } from '../schema/contracts.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { compactChanges } from './compact-changes.ts';
import { readLines } from './line-reader.ts';

export interface LoadSettings {
  batchEvents: number;
  /** Also flush a batch once its lines reach this many bytes (default 8 MiB): memory bounded for large events. */
  batchBytes?: number;
  maxLineBytes: number;
  maxNestingDepth: number;
  maxColumns: number;
  dedupWindowMs: number;
  contracts: Contracts;
}

export interface LoadDeps {
  store: ObjectStore;
  destination: Destination;
  settings: LoadSettings;
  logger: Logger;
  now?: () => Date;
  /** Load id generator (tests inject a deterministic one). */
  newLoadId?: () => string;
  /**
   * Appended to the idempotency key to load a file again on purpose (`replay --force`): rows are still
   * de-duplicated on event id, so only events missing from the warehouse (e.g. rejected before a contract change)
   * are added.
   */
  loadKeySuffix?: string;
}

export interface ObjectRef {
  bucket: string;
  name: string;
  generation: string;
}

export type LoadOutcome =
  | { status: 'loaded'; record: LoadRecord }
  | { status: 'already_loaded'; record: LoadRecord };

/** The idempotency key of a file load. */
export function loadKeyOf(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.name}#${ref.generation}`;
}

export const TABLE_COLUMNS: readonly ColumnSchema[] = [
  { name: ROW_META_COLUMNS.loadedAt, type: 'TIMESTAMP' },
  { name: ROW_META_COLUMNS.loadId, type: 'STRING' },
];

/**
 * Loads one raw file: stream -> lines -> normalize -> batches -> destination, committed atomically.
 * Idempotent per `bucket/name#generation`. Throws only retryable errors; bad data becomes failed events.
 */
export async function loadObject(deps: LoadDeps, ref: ObjectRef): Promise<LoadOutcome> {
  const { destination, settings, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const loadKey = loadKeyOf(ref) + (deps.loadKeySuffix ?? '');
  const log = logger.child({ loadKey });
  await destination.open();
  try {
    const existing = await destination.findLoad(loadKey);
    if (existing) {
      log.info({ loadId: existing.loadId }, 'already loaded; nothing to do');
      return { status: 'already_loaded', record: existing };
    }
    const schema = await destination.readSchema();
    const caps = destination.capabilities;
    const names = new NameCache(namingRules(caps));
    const startedAt = now();
    const loadId = deps.newLoadId?.() ?? randomUUID();
    const loadedAt = startedAt.toISOString();
    const normalizer = {
      names,
      maxNestingDepth: settings.maxNestingDepth,
      contracts: settings.contracts,
      columnBudget: Math.min(settings.maxColumns, caps.maxColumns),
      canWidenIntToFloat: caps.canWidenIntToFloat,
      maxColumnNameLength: caps.maxColumnNameLength,
      tableColumns: TABLE_COLUMNS,
      tableValues: [loadedAt, loadId],
    };
    const session = await destination.beginLoad({
      loadId,
      loadKey,
      bucket: ref.bucket,
      name: ref.name,
      generation: ref.generation,
      startedAt,
      dedupWindowMs: settings.dedupWindowMs,
    });
    let linesRead = 0;
    let bytesRead = 0;
    let eventsStaged = 0;
    let failedCount = 0;
    let valuesDiscarded = 0;
    const allChanges: SchemaChange[] = [];
    let pendingChanges: SchemaChange[] = [];
    let batch = new Map<string, StagedRow[]>();
    let failures: FailedEvent[] = [];
    let batchEvents = 0;
    let batchBytes = 0;
    const maxBatchBytes = settings.batchBytes ?? 8 * 1024 * 1024;

    const flush = async (): Promise<void> => {
      if (pendingChanges.length > 0) await session.applySchemaChanges(compactChanges(pendingChanges));
      pendingChanges = [];
      for (const [table, rows] of batch) await session.appendRows(table, rows);
      if (failures.length > 0) await session.appendFailed(failures);
      batch = new Map();
      failures = [];
      batchEvents = 0;
      batchBytes = 0;
    };

    try {
      const stream = await deps.store.read(ref.bucket, ref.name, ref.generation);
      for await (const line of readLines(stream, settings.maxLineBytes, (n) => {
        bytesRead += n;
      })) {
        linesRead++;
        const result = normalizeLine(line, schema, normalizer);
        if (!result.ok) {
          failedCount++;
          failures.push(result.failure);
        } else {
          eventsStaged++;
          valuesDiscarded += result.discarded;
          if (result.changes.length > 0) {
            pendingChanges.push(...result.changes);
            allChanges.push(...result.changes);
          }
          const receivedAt = result.receivedAt ?? loadedAt;
          for (const row of result.rows) {
            let rows = batch.get(row.table);
            if (rows === undefined) {
              rows = [];
              batch.set(row.table, rows);
            }
            rows.push({
              eventId: result.eventId,
              line: line.number,
              receivedAt,
              columns: row.columns,
              at: row.at,
              cells: row.cells,
            });
          }
        }
        batchBytes += line.text.length;
        if (++batchEvents >= settings.batchEvents || batchBytes >= maxBatchBytes) await flush();
      }
      await flush();
      const record = await session.commit({
        linesRead,
        bytesRead,
        eventsStaged,
        failed: failedCount,
        valuesDiscarded,
        schemaChanges: allChanges,
        finishedAt: now(),
      });
      log.info(
        {
          loadId: record.loadId,
          linesRead: record.linesRead,
          eventsLoaded: record.eventsLoaded,
          duplicates: record.duplicates,
          failed: record.failed,
          schemaChanges: record.schemaChanges.length,
          durationMs: record.finishedAt.getTime() - record.startedAt.getTime(),
        },
        'file loaded',
      );
      return record.loadId === loadId ? { status: 'loaded', record } : { status: 'already_loaded', record };
    } catch (error) {
      await session.abort().catch((abortError: unknown) => {
        log.warn({ err: abortError }, 'abort after a failed load also failed');
      });
      throw error;
    }
  } catch (error) {
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', (error as Error).message, {
      cause: error,
    });
  } finally {
    await destination.close();
  }
}
