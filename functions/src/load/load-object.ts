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
import { EdgeStager } from '../identity/edges.ts';
import { identityAfterLoad } from '../identity/loader-hook.ts';
import { IDENTITY_TABLES } from '../identity/tables.ts';
import type { Logger } from '../logger.ts';
import { namingRules } from '../naming/identifier.ts';
import { NameCache } from '../naming/name-cache.ts';
import { createNormalizer } from '../normalize/normalizer.ts';
import type { SuppressionSource } from '../privacy/suppression-source.ts';
import type { Contracts } from '../schema/contracts.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { compactChanges } from './compact-changes.ts';
import { readLines } from './line-reader.ts';
import { loadedAncestor } from './rewrite-check.ts';

export interface LoadSettings {
  batchEvents: number;
  /** Also flush a batch once its lines reach this many bytes (default 8 MiB): memory bounded for large events. */
  batchBytes?: number;
  maxLineBytes: number;
  maxNestingDepth: number;
  maxColumns: number;
  dedupWindowMs: number;
  contracts: Contracts;
  /** Failed attempts of a file before it is quarantined (SLUICE_MAX_LOAD_ATTEMPTS; default 5). */
  maxLoadAttempts?: number;
}

export const DEFAULT_MAX_LOAD_ATTEMPTS = 5;

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
  /**
   * Load a quarantined file again (the CLI: `npm run load`, `npm run replay`, run by a user who fixed the cause),
   * starting its attempt count from 0. The trigger's deliveries never do: a quarantined file stays parked.
   */
  retryQuarantined?: boolean;
  /**
   * The suppression list (privacy/suppression-source.ts), read at the start of the file's load: lines of
   * suppressed people are dropped before normalization and counted (`suppressed`). None: nothing is suppressed.
   */
  suppression?: SuppressionSource;
}

export interface ObjectRef {
  bucket: string;
  name: string;
  generation: string;
  /** The object's custom metadata, when the CloudEvent carried it (rewrite-check.ts); else read when needed. */
  metadata?: Readonly<Record<string, string>>;
}

export type LoadOutcome =
  | { status: 'loaded'; record: LoadRecord }
  | { status: 'already_loaded'; record: LoadRecord }
  | { status: 'quarantined'; record: LoadRecord };

/** The loader's log contract: one `file loaded` line per file (GCP log-based metrics and alerts read it). */
function logOutcome(log: Logger, outcome: LoadOutcome['status'], record: LoadRecord, alert = false): void {
  const fields = {
    outcome,
    loadId: record.loadId,
    linesRead: record.linesRead,
    eventsLoaded: record.eventsLoaded,
    duplicates: record.duplicates,
    failed: record.failed,
    suppressed: record.suppressed,
    schemaChanges: record.schemaChanges.length,
    durationMs: record.finishedAt.getTime() - record.startedAt.getTime(),
  };
  if (alert)
    log.error({ ...fields, code: 'SLUICE_ERR_LOAD_QUARANTINED', reason: record.reason }, 'file loaded');
  else log.info(record.reason === null ? fields : { ...fields, reason: record.reason }, 'file loaded');
}

/** Any error of a load -> the LoaderError it counts as (unexpected errors are retryable: a retry may fix them). */
function asLoaderError(error: unknown): LoaderError {
  if (error instanceof LoaderError) return error;
  return new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', (error as Error).message, {
    cause: error,
  });
}

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
  const { destination, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const loadKey = loadKeyOf(ref) + (deps.loadKeySuffix ?? '');
  const log = logger.child({ loadKey });
  const loadId = deps.newLoadId?.() ?? randomUUID();
  const startedAt = now();
  const identityRules = deps.settings.contracts.identity ?? DEFAULT_IDENTITY_RULES;
  // Not reachable, not counted: the lock held by another process, the warehouse unopenable. Retried.
  await destination.open().catch((error: unknown) => {
    throw asLoaderError(error);
  });
  try {
    const existing = await destination.findLoad(loadKey);
    if (existing) {
      logOutcome(log, 'already_loaded', existing);
      await identityAfterLoad(destination, existing.loadId, identityRules, log);
      return { status: 'already_loaded', record: existing };
    }
    if (deps.retryQuarantined) await destination.resetAttempts(loadKey);
    else {
      const quarantined = await destination.findQuarantine(loadKey);
      if (quarantined) {
        logOutcome(log, 'quarantined', quarantined);
        return { status: 'quarantined', record: quarantined };
      }
    }
    let outcome: LoadOutcome;
    try {
      // A privacy rewrite of a loaded generation: its events are in the warehouse (a forced replay loads it
      // anyway). Inside the attempt: a failure to read the mark counts like a failed read of the file.
      const ancestor =
        deps.loadKeySuffix === undefined
          ? await loadedAncestor(deps.store, destination, ref, loadKeyOf)
          : undefined;
      if (ancestor) {
        logOutcome(log, 'already_loaded', ancestor);
        return { status: 'already_loaded', record: ancestor };
      }
      outcome = await loadNew(deps, ref, { loadKey, loadId, startedAt, log, now });
    } catch (thrown) {
      outcome = await afterFailure(deps, ref, asLoaderError(thrown), {
        loadKey,
        loadId,
        startedAt,
        log,
        now,
      });
    }
    // The identity map after the commit (its edges committed with the events): see identity/loader-hook.ts.
    if (outcome.status !== 'quarantined')
      await identityAfterLoad(destination, outcome.record.loadId, identityRules, log);
    return outcome;
  } finally {
    await destination.close();
  }
}

interface Attempt {
  loadKey: string;
  loadId: string;
  startedAt: Date;
  log: Logger;
  now: () => Date;
}

/**
 * A load failed: count the attempt; quarantine the file once it has failed `maxLoadAttempts` times or failed with
 * an error no retry can fix (a success answer to the trigger, so the file stops blocking the windows after it);
 * otherwise rethrow the (retryable) error so the trigger retries.
 */
async function afterFailure(
  deps: LoadDeps,
  ref: ObjectRef,
  error: LoaderError,
  attempt: Attempt,
): Promise<LoadOutcome> {
  const { destination } = deps;
  const { loadKey, log } = attempt;
  const maxAttempts = deps.settings.maxLoadAttempts ?? DEFAULT_MAX_LOAD_ATTEMPTS;
  let attempts: number;
  try {
    attempts = await destination.recordFailedAttempt(loadKey, { code: error.code, reason: error.message });
  } catch (bookkeeping) {
    log.warn({ err: bookkeeping, code: error.code }, 'could not count the failed attempt');
    // Not counted and not recorded: acknowledging would drop the file, so the trigger must retry it.
    if (!error.retryable) {
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', error.message, { cause: error });
    }
    throw error;
  }
  if (error.retryable && attempts < maxAttempts) throw error;
  const why = error.retryable ? `failed ${attempts} times` : 'failed with an error no retry can fix';
  const record = await destination.quarantine(
    {
      loadId: attempt.loadId,
      loadKey,
      bucket: ref.bucket,
      name: ref.name,
      generation: ref.generation,
      startedAt: attempt.startedAt,
      dedupWindowMs: deps.settings.dedupWindowMs,
    },
    `${error.code}: ${error.message} (${why}; after fixing the cause, load it with npm run replay or npm run load)`,
    attempt.now(),
  );
  if (record.status === 'loaded') {
    logOutcome(log, 'already_loaded', record);
    return { status: 'already_loaded', record };
  }
  logOutcome(log, 'quarantined', record, true);
  return { status: 'quarantined', record };
}

/** Reads, normalizes, stages and commits a file that has no loads row. Throws on any failure (nothing visible). */
async function loadNew(deps: LoadDeps, ref: ObjectRef, attempt: Attempt): Promise<LoadOutcome> {
  const { destination, settings } = deps;
  const { loadKey, loadId, startedAt, log, now } = attempt;
  const schema = await destination.readSchema();
  const caps = destination.capabilities;
  const names = new NameCache(namingRules(caps));
  const loadedAt = startedAt.toISOString();
  const normalizer = createNormalizer({
    schema,
    names,
    maxNestingDepth: settings.maxNestingDepth,
    contracts: settings.contracts,
    columnBudget: Math.min(settings.maxColumns, caps.maxColumns),
    canWidenIntToFloat: caps.canWidenIntToFloat,
    maxColumnNameLength: caps.maxColumnNameLength,
    tableColumns: TABLE_COLUMNS,
    tableValues: [loadedAt, loadId],
  });
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
  let suppressed = 0;
  const edges = destination.identity
    ? new EdgeStager(
        settings.contracts.identity ?? DEFAULT_IDENTITY_RULES,
        schema.has(IDENTITY_TABLES.edgeLog),
        loadedAt,
        loadId,
      )
    : undefined;

  const flush = async (): Promise<void> => {
    if (pendingChanges.length > 0) await session.applySchemaChanges(compactChanges(pendingChanges));
    pendingChanges = [];
    for (const [table, rows] of batch) await session.appendRows(table, rows);
    const edgeTable = edges?.schemaChanges() ?? [];
    if (edgeTable.length > 0) await session.applySchemaChanges(edgeTable);
    const edgeRows = edges?.take() ?? [];
    if (edgeRows.length > 0) await session.appendRows(IDENTITY_TABLES.edgeLog, edgeRows);
    if (failures.length > 0) await session.appendFailed(failures);
    batch = new Map();
    failures = [];
    batchEvents = 0;
    batchBytes = 0;
  };

  try {
    const isSuppressed = await deps.suppression?.lineFilter();
    const stream = await deps.store.read(ref.bucket, ref.name, ref.generation);
    for await (const line of readLines(stream, settings.maxLineBytes, (n) => {
      bytesRead += n;
    })) {
      linesRead++;
      if (isSuppressed?.(line.text)) {
        suppressed++;
        continue;
      }
      const result = normalizer.normalize(line);
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
          const staged: StagedRow = {
            eventId: result.eventId,
            line: line.number,
            receivedAt,
            columns: row.columns,
            at: row.at,
            cells: row.cells,
          };
          rows.push(staged);
          edges?.add(row.table, staged);
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
      suppressed,
      schemaChanges: allChanges,
      finishedAt: now(),
    });
    const outcome = record.loadId === loadId ? 'loaded' : 'already_loaded';
    logOutcome(log, outcome, record);
    return { status: outcome, record };
  } catch (error) {
    await session.abort().catch((abortError: unknown) => {
      log.warn({ err: abortError }, 'abort after a failed load also failed');
    });
    throw error;
  }
}
