import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BigQueryConfig, readBigQueryConfig } from './destinations/bigquery/bigquery-config.ts';
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from './destinations/duckdb/duckdb-destination.ts';
import { LoaderError } from './errors.ts';
import { DEFAULT_MAX_LOAD_ATTEMPTS } from './load/load-object.ts';
import { type Contracts, DEFAULT_CONTRACTS, readContractsFile } from './schema/contracts.ts';

export const DESTINATIONS = ['duckdb', 'bigquery'] as const;
export type DestinationName = (typeof DESTINATIONS)[number];

export interface LoaderConfig {
  destination: DestinationName;
  dataDir: string;
  duckdbPath: string;
  bucketsDir: string;
  rawBucket: string;
  /** Events per batch handed to the destination (memory bound): 500 for DuckDB, 5,000 for BigQuery by default. */
  batchEvents: number;
  /** A batch is also flushed once its lines reach this many bytes (bounds the JS heap for large events). */
  batchBytes: number;
  /** Longest line kept; longer lines are failed events holding their first `maxLineBytes` bytes. */
  maxLineBytes: number;
  /** Objects nested deeper than this (properties = 1) are stored as one JSON value. */
  maxNestingDepth: number;
  /** Column budget per table; new keys beyond it go to the overflow JSON column. */
  maxColumns: number;
  /** De-duplication look-back on event id, in milliseconds. */
  dedupWindowMs: number;
  /** How long to keep retrying when the DuckDB file is locked by another process before a retryable error. */
  lockTimeoutMs: number;
  /** Failed attempts of a file before it is quarantined (a loads row with status `quarantined`). */
  maxLoadAttempts: number;
  /** DuckDB memory limit during a load (staged data beyond it spills to `<duckdb path>.tmp/`). */
  duckdbMemoryLimit: string;
  contracts: Contracts;
  contractsPath: string | undefined;
  logLevel: string;
  /** BigQuery + Cloud Storage settings (validated as required when `destination` is `bigquery`). */
  bigquery: BigQueryConfig;
  /** Privacy requests and the suppression list (docs/privacy.md). */
  privacy: PrivacyConfig;
  /** The scheduled identity update (`npm run identity -- update`, the GCP update function). */
  identityUpdate: { leaseMs: number; overlapMs: number };
}

export interface PrivacyConfig {
  /** `SLUICE_PRIVACY_BUCKET` (default `sluice-privacy`): holds the suppression list; NOT the raw bucket. */
  bucket: string;
  /** `SLUICE_SUPPRESSION_OBJECT` (default `suppressions.json`). */
  suppressionObject: string;
  /** `SLUICE_PRIVACY_RAW_PREFIX` (default ``: the whole raw bucket): raw files a delete scans and rewrites. */
  rawPrefix: string;
  /**
   * `SLUICE_PRIVACY_SETTLE_SECONDS`: wait after the suppression list changed before erasing, so loads that read the
   * list before the change have committed. Default 0 on DuckDB (the request holds the warehouse file), the
   * BigQuery time budget (`SLUICE_BQ_TIME_BUDGET_SECONDS`) plus the loader's suppression refresh on BigQuery.
   */
  settleMs: number;
  /**
   * `SLUICE_SUPPRESSION_REFRESH_SECONDS` (default 60 on BigQuery, 0 on DuckDB; at most 60): how old the loader's
   * cached suppression list may be (the collector's bound, the same setting). On DuckDB it is read at every load
   * (a local file read costs nothing, and the delete, which holds the warehouse file, does not wait for caches).
   */
  suppressionRefreshMs: number;
}

/** The repository root (two levels above functions/src, or above functions/dist in the bundle). */
function defaultRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function positiveInt(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    problems.push(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return n;
}

/** Parses the loader's settings; fails fast listing every problem. Called once at startup. */
export function loadConfig(env: Record<string, string | undefined> = process.env): LoaderConfig {
  const problems: string[] = [];
  const destination = (env.SLUICE_DESTINATION ?? 'duckdb') as DestinationName;
  if (!DESTINATIONS.includes(destination)) {
    problems.push(
      `SLUICE_DESTINATION must be one of ${DESTINATIONS.join(', ')} (got ${JSON.stringify(destination)})`,
    );
  }
  const dataDir = path.resolve(env.SLUICE_DATA_DIR || path.join(defaultRoot(), '.sluice'));
  // DuckDB stages a batch as local file appends: small batches let each event's objects die young (a 1M-event load
  // took 36 s and 228 MB at 500, 44 s and 262 MB at 5,000). BigQuery uploads one staged object per table and batch.
  const batchEvents = positiveInt(
    env,
    'SLUICE_BATCH_EVENTS',
    destination === 'bigquery' ? 5000 : 500,
    problems,
  );
  const batchBytes = positiveInt(env, 'SLUICE_BATCH_BYTES', 8 * 1024 * 1024, problems);
  const maxLineBytes = positiveInt(env, 'SLUICE_MAX_LINE_BYTES', 1024 * 1024, problems);
  const maxNestingDepth = positiveInt(env, 'SLUICE_MAX_NESTING_DEPTH', 5, problems);
  const maxColumns = positiveInt(env, 'SLUICE_MAX_COLUMNS', 9000, problems);
  const dedupHours = positiveInt(env, 'SLUICE_DEDUP_WINDOW_HOURS', 72, problems);
  const lockTimeoutMs = positiveInt(env, 'SLUICE_DUCKDB_LOCK_TIMEOUT_MS', 30_000, problems);
  const maxLoadAttempts = positiveInt(env, 'SLUICE_MAX_LOAD_ATTEMPTS', DEFAULT_MAX_LOAD_ATTEMPTS, problems);
  const duckdbMemoryLimit = env.SLUICE_DUCKDB_MEMORY_LIMIT || DEFAULT_DUCKDB_MEMORY_LIMIT;
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(duckdbMemoryLimit)) {
    problems.push(
      `SLUICE_DUCKDB_MEMORY_LIMIT must look like 128MB or 1GB (got ${JSON.stringify(duckdbMemoryLimit)})`,
    );
  }
  const contractsPath = env.SLUICE_SCHEMA_CONTRACTS || undefined;
  let contracts = DEFAULT_CONTRACTS;
  if (contractsPath !== undefined) {
    try {
      contracts = readContractsFile(contractsPath);
    } catch (error) {
      problems.push(`SLUICE_SCHEMA_CONTRACTS: ${(error as Error).message}`);
    }
  }
  const logLevel = env.SLUICE_LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    problems.push(`SLUICE_LOG_LEVEL must be a pino level (got ${JSON.stringify(logLevel)})`);
  }
  const bigquery = readBigQueryConfig(
    env,
    destination === 'bigquery',
    env.SLUICE_RAW_BUCKET || 'sluice-raw',
    problems,
  );
  const refreshRaw = env.SLUICE_SUPPRESSION_REFRESH_SECONDS;
  let suppressionRefreshMs = destination === 'bigquery' ? 60_000 : 0;
  if (refreshRaw !== undefined && refreshRaw !== '') {
    const n = Number(refreshRaw);
    if (!Number.isInteger(n) || n < 0 || n > 60)
      problems.push(
        `SLUICE_SUPPRESSION_REFRESH_SECONDS must be a whole number from 0 to 60 (got ${JSON.stringify(refreshRaw)})`,
      );
    else suppressionRefreshMs = n * 1000;
  }
  const settleRaw = env.SLUICE_PRIVACY_SETTLE_SECONDS;
  // A load that read the list (or its cached copy) before the change commits within the budget after its read.
  let settleMs = destination === 'bigquery' ? bigquery.timeBudgetMs + suppressionRefreshMs : 0;
  if (settleRaw !== undefined && settleRaw !== '') {
    const n = Number(settleRaw);
    if (!Number.isInteger(n) || n < 0)
      problems.push(
        `SLUICE_PRIVACY_SETTLE_SECONDS must be a whole number >= 0 (got ${JSON.stringify(settleRaw)})`,
      );
    else settleMs = n * 1000;
  }
  const privacy: PrivacyConfig = {
    bucket: env.SLUICE_PRIVACY_BUCKET || 'sluice-privacy',
    suppressionObject: env.SLUICE_SUPPRESSION_OBJECT || 'suppressions.json',
    rawPrefix: env.SLUICE_PRIVACY_RAW_PREFIX ?? '',
    settleMs,
    suppressionRefreshMs,
  };
  if (privacy.bucket === (env.SLUICE_RAW_BUCKET || 'sluice-raw'))
    problems.push('SLUICE_PRIVACY_BUCKET must not be the raw bucket (its trigger would load the list)');
  const identityUpdate = {
    leaseMs: positiveInt(env, 'SLUICE_IDENTITY_LEASE_SECONDS', 1800, problems) * 1000,
    overlapMs: positiveInt(env, 'SLUICE_IDENTITY_OVERLAP_SECONDS', 3600, problems) * 1000,
  };
  if (problems.length > 0) throw new LoaderError('SLUICE_ERR_CONFIG_INVALID', problems.join('; '));
  return {
    identityUpdate,
    destination,
    dataDir,
    duckdbPath: path.resolve(env.SLUICE_DUCKDB_PATH || path.join(dataDir, 'warehouse.duckdb')),
    bucketsDir: path.resolve(env.SLUICE_BUCKETS_DIR || path.join(dataDir, 'buckets')),
    rawBucket: env.SLUICE_RAW_BUCKET || 'sluice-raw',
    batchEvents,
    batchBytes,
    maxLineBytes,
    maxNestingDepth,
    maxColumns,
    dedupWindowMs: dedupHours * 3600 * 1000,
    lockTimeoutMs,
    maxLoadAttempts,
    duckdbMemoryLimit,
    contracts,
    contractsPath,
    logLevel,
    bigquery,
    privacy,
  };
}
