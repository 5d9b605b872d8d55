import { dmlTarget, FakeBigQueryError } from './fake-bigquery-engine.ts';
import { splitStatements } from './fake-bigquery-values.ts';

/**
 * BigQuery's documented limits that a Sluice load can hit, as data. Tests may lower one to reach it quickly; the
 * defaults are the documented values.
 */
export interface FakeLimits {
  /** "Maximum number of columns per table: 10,000" (https://cloud.google.com/bigquery/quotas#table_limits). */
  maxColumns: number;
  /** "Maximum row size: 100 MB" for JSON loads (https://cloud.google.com/bigquery/quotas#load_jobs). */
  maxRowBytes: number;
  /**
   * "Load jobs per table per day: 1,500 ... including jobs that fail" (https://cloud.google.com/bigquery/quotas#load_jobs);
   * for a partitioned table the partition-modification limit applies instead ("For partitioned tables, a separate
   * limit for partitioned table modifications applies, replacing the standard table limit",
   * https://cloud.google.com/bigquery/docs/optimize-load-jobs).
   */
  loadJobsPerTablePerDay: number;
  /**
   * "Number of partition modifications per column-partitioned table per day: 30,000" — each partition a job
   * writes counts, failed jobs included (https://cloud.google.com/bigquery/quotas#partitioned_tables).
   */
  partitionModificationsPerTablePerDay: number;
  /** "Number of partitions modified by a single job: 4,000" (https://cloud.google.com/bigquery/quotas#partitioned_tables). */
  partitionsPerJob: number;
  /** "A transaction can mutate data in at most 100 tables" (https://cloud.google.com/bigquery/docs/transactions#limitations). */
  tablesPerTransaction: number;
}

export const DOCUMENTED_LIMITS: FakeLimits = {
  maxColumns: 10_000,
  maxRowBytes: 100 * 1024 * 1024,
  loadJobsPerTablePerDay: 1_500,
  partitionModificationsPerTablePerDay: 30_000,
  partitionsPerJob: 4_000,
  tablesPerTransaction: 100,
};

const DAY = 24 * 3600 * 1000;

/**
 * Rolling 24-hour counters per table ("The quota then gradually refills over the next 24 hours",
 * https://cloud.google.com/bigquery/docs/optimize-load-jobs): load jobs and partition modifications.
 */
export class TableQuotas {
  readonly #loads = new Map<string, number[]>();
  readonly #partitions = new Map<string, number[]>();

  constructor(
    readonly limits: FakeLimits,
    readonly now: () => number,
  ) {}

  #recent(map: Map<string, number[]>, key: string): number[] {
    const since = this.now() - DAY;
    const kept = (map.get(key) ?? []).filter((t) => t > since);
    map.set(key, kept);
    return kept;
  }

  /** Counts one load job against `table` (before it runs: failed jobs count too) and checks the limits. */
  chargeLoad(table: string, partitioned: boolean, partitions: number): void {
    const at = this.now();
    if (partitions > this.limits.partitionsPerJob) {
      throw new FakeBigQueryError(
        'invalid',
        `Too many partitions produced by the job, allowed ${this.limits.partitionsPerJob}, the job produces at least ${partitions} partitions`,
      );
    }
    if (partitioned) {
      const used = this.#recent(this.#partitions, table);
      if (used.length + partitions > this.limits.partitionModificationsPerTablePerDay) {
        for (let i = 0; i < partitions; i++) used.push(at);
        throw new FakeBigQueryError(
          'quotaExceeded',
          `Quota exceeded: Your table exceeded quota for Number of partition modifications to a column partitioned table (${table})`,
        );
      }
      for (let i = 0; i < partitions; i++) used.push(at);
      return;
    }
    const used = this.#recent(this.#loads, table);
    used.push(at);
    if (used.length > this.limits.loadJobsPerTablePerDay) {
      throw new FakeBigQueryError(
        'quotaExceeded',
        `Quota exceeded: Your table exceeded quota for imports or query appends per table (${table})`,
      );
    }
  }

  loadsToday(table: string): number {
    return this.#recent(this.#loads, table).length;
  }

  partitionModificationsToday(table: string): number {
    return this.#recent(this.#partitions, table).length;
  }
}

/** What a query job mutates, read from its SQL (the fake's concurrency model keys on it). */
export interface JobFootprint {
  /** The script opens a multi-statement transaction. */
  transaction: boolean;
  /** Tables its UPDATE/DELETE/MERGE-with-UPDATE-or-DELETE statements mutate (`dataset.table`). */
  mutates: Set<string>;
  /** Every table a DML statement writes (appends included). */
  writes: Set<string>;
}

/**
 * The concurrency rules (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency): "If a
 * transaction mutates (updates or deletes) rows in a table, then other transactions or DML statements that mutate
 * rows in the same table cannot run concurrently. Conflicting transactions are cancelled. Conflicting DML
 * statements that run outside of a transaction are queued to run later". Reads and appends (INSERT, load jobs
 * WRITE_APPEND) run concurrently with anything. A MERGE counts as mutating when it has a WHEN MATCHED ... UPDATE
 * or DELETE clause — stricter than BigQuery, which lets it through when such a clause is never invoked
 * (https://cloud.google.com/bigquery/docs/data-manipulation-language#dml_statement_conflicts).
 */
export function footprint(sql: string): JobFootprint {
  const statements = splitStatements(sql);
  const mutates = new Set<string>();
  const writes = new Set<string>();
  for (const statement of statements) {
    const target = dmlTarget(statement);
    if (!target) continue;
    writes.add(target);
    const head = statement.trim().toUpperCase();
    const mutating =
      head.startsWith('UPDATE') ||
      head.startsWith('DELETE') ||
      (head.startsWith('MERGE') && /WHEN\s+MATCHED[\s\S]*?THEN\s+(UPDATE|DELETE)/i.test(statement));
    if (mutating) mutates.add(target);
  }
  return {
    transaction: statements.some((s) => /^BEGIN TRANSACTION$/i.test(s.trim())),
    mutates,
    writes,
  };
}

export function checkTransactionSize(print: JobFootprint, limits: FakeLimits): void {
  if (print.transaction && print.writes.size > limits.tablesPerTransaction) {
    throw new FakeBigQueryError(
      'invalidQuery',
      `Transaction exceeds the limit of ${limits.tablesPerTransaction} tables mutated (mutates ${print.writes.size})`,
    );
  }
}

/** The error BigQuery gives the transaction it cancels (reason invalidQuery; see retry.ts). */
export function concurrentUpdateError(table: string): FakeBigQueryError {
  return new FakeBigQueryError(
    'invalidQuery',
    `Transaction is aborted due to concurrent update against table ${table}.`,
  );
}
