import type { DuckDBValue } from '@duckdb/node-api';
import {
  type FakeBigQueryEngine,
  FakeBigQueryError,
  type ParamTable,
  type PendingQuery,
  type QueryOutcome,
} from './fake-bigquery-engine.ts';
import { handleDatasets, type LoadConfiguration, queryResults, runLoad } from './fake-bigquery-resources.ts';
import {
  checkTransactionSize,
  concurrentUpdateError,
  DOCUMENTED_LIMITS,
  type FakeLimits,
  footprint,
  type JobFootprint,
  TableQuotas,
} from './fake-bigquery-rules.ts';
import type { FakeGcs } from './fake-gcs.ts';
import { apiError, type FakeResponse, json } from './fake-http.ts';

export interface JobRecord {
  resource: Record<string, unknown>;
  /** jobs.get calls still to answer RUNNING before DONE. */
  pendingPolls: number;
  result?: QueryOutcome;
}

interface QueryParameter {
  name?: string;
  parameterType?: {
    type?: string;
    arrayType?: { type?: string; structTypes?: { name: string; type: { type: string } }[] };
  };
  parameterValue?: {
    value?: string | null;
    arrayValues?: { structValues?: Record<string, { value?: string | null }> }[];
  };
}

interface HeldJob {
  record: JobRecord;
  pending: PendingQuery;
  print: JobFootprint;
}

interface QueuedJob {
  jobId: string;
  print: JobFootprint;
  start: () => Promise<void>;
}

/**
 * BigQuery REST v2 (the subset `@google-cloud/bigquery` 8 calls for Sluice): datasets get/insert, tables
 * get/insert/patch/delete, jobs insert (load, query) / get, getQueryResults.
 *
 * As strict as BigQuery where a load depends on it:
 * - Job ids: "a job ID ... must be unique within the project" for as long as BigQuery keeps the job history
 *   (https://cloud.google.com/bigquery/docs/running-jobs#generate-jobid): re-inserting an id answers 409
 *   `duplicate` and changes nothing; `jobs.get` keeps returning the ORIGINAL job, its failure included.
 * - Billing: query jobs report `totalBytesBilled` with the on-demand minimums apart from `totalBytesProcessed`
 *   (engine `begin`); load jobs and `jobs.get` bill nothing ("Loading data ... is free",
 *   https://cloud.google.com/bigquery/pricing#data_ingestion_pricing).
 * - Concurrency (fake-bigquery-rules.ts `footprint`): each query job reads one snapshot; a test can HOLD a job
 *   (`holdJobs`) after it ran but before it commits, run other jobs, then `release` it. A mutating job that
 *   meets a held mutating job on the same table is cancelled (inside a transaction) or queued (outside one).
 * - Limits (`limits`, DOCUMENTED_LIMITS): columns per table, row size, load jobs and partition modifications per
 *   table per day (failed jobs count), partitions per job, tables per transaction.
 */
export class FakeBigQuery {
  readonly datasets = new Map<string, Record<string, unknown>>();
  readonly jobs = new Map<string, JobRecord>();
  /** How many RUNNING answers each new job gives before DONE (exercises polling). */
  pendingPollsPerJob = 0;
  /** Override for a query's totalBytesProcessed (e.g. to model partition pruning in a cost test). */
  bytesProcessedFor: ((sql: string, estimate: number) => number) | undefined;
  /** Job ids (insert order) whose execution the fake made fail with this reason, for assertions. */
  readonly failedJobs: string[] = [];
  /** Makes the next job whose id matches fail inside the job (status.errorResult) with this reason. */
  readonly jobFailures: { jobId: RegExp; reason: string; message: string; remaining: number }[] = [];

  /** BigQuery's limits; tests may lower one. */
  readonly limits: FakeLimits = { ...DOCUMENTED_LIMITS };
  /** Clock of the daily quotas. */
  now: () => number = Date.now;
  readonly quotas = new TableQuotas(this.limits, () => this.now());
  /** Query jobs whose id matches are held before they commit, until `release`. */
  readonly #holds: { jobId: RegExp; remaining: number }[] = [];
  readonly #held = new Map<string, HeldJob>();
  readonly #queued: QueuedJob[] = [];
  readonly #heldWaiters: { jobId: RegExp; resolve: (id: string) => void }[] = [];
  #serial: Promise<unknown> = Promise.resolve();

  #lastCreationTime = 0;

  /** Holds the next `times` query jobs whose id matches (they run, then wait RUNNING before commit). */
  holdJobs(jobId: RegExp, times = 1): void {
    this.#holds.push({ jobId, remaining: times });
  }

  /** Resolves with the id of a held job matching `jobId` as soon as there is one. */
  waitForHeld(jobId: RegExp): Promise<string> {
    const found = [...this.#held.keys()].find((id) => jobId.test(id));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#heldWaiters.push({ jobId, resolve }));
  }

  /** Job ids queued behind a held job (mutating DML outside a transaction). */
  queued(): string[] {
    return this.#queued.map((q) => q.jobId);
  }

  /** Commits a held job (it becomes DONE), then starts the jobs queued behind it. */
  release(jobId: string): Promise<void> {
    return this.#exclusive(async () => {
      const held = this.#held.get(jobId);
      if (!held) throw new Error(`no held job ${jobId}`);
      this.#held.delete(jobId);
      await held.pending.commit();
      this.#finishQuery(held.record, held.pending.outcome);
      await this.#drainQueue();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async #drainQueue(): Promise<void> {
    for (const queued of [...this.#queued]) {
      if (this.#blocker(queued.print)) continue;
      this.#queued.splice(this.#queued.indexOf(queued), 1);
      await queued.start();
    }
  }

  /** A held job that mutates a table this footprint mutates. */
  #blocker(print: JobFootprint): string | undefined {
    for (const held of this.#held.values()) {
      for (const table of print.mutates) if (held.print.mutates.has(table)) return table;
    }
    return undefined;
  }

  /** Milliseconds since the epoch, strictly increasing: a re-created table never repeats its predecessor's. */
  nextCreationTime(): number {
    this.#lastCreationTime = Math.max(Date.now(), this.#lastCreationTime + 1);
    return this.#lastCreationTime;
  }

  constructor(
    readonly project: string,
    readonly engine: FakeBigQueryEngine,
    readonly gcs: FakeGcs,
  ) {
    engine.columnLimit = () => this.limits.maxColumns;
  }

  handle(method: string, path: string, query: Record<string, string>, body: unknown): Promise<FakeResponse> {
    return this.#exclusive(() => this.#handle(method, path, query, body));
  }

  async #handle(
    method: string,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): Promise<FakeResponse> {
    const m = /^\/bigquery\/v2\/projects\/([^/]+)\/(.*)$/.exec(path);
    if (!m) return apiError(404, 'notFound', `unknown path ${path}`);
    const project = decodeURIComponent(m[1]!);
    if (project !== this.project) return apiError(404, 'notFound', `Not found: Project ${project}`);
    const rest = m[2]!.split('/').map(decodeURIComponent);
    try {
      if (rest[0] === 'datasets') return await handleDatasets(this, method, rest.slice(1), body);
      if (rest[0] === 'jobs') return await this.#jobs(method, rest.slice(1), body, query);
      if (rest[0] === 'queries' && rest[1] && method === 'GET') return queryResults(this, rest[1], query);
    } catch (error) {
      if (error instanceof FakeBigQueryError) return apiError(400, error.reason, error.message);
      throw error;
    }
    return apiError(501, 'notImplemented', `fake BigQuery does not implement ${method} ${path}`);
  }

  async #jobs(
    method: string,
    rest: string[],
    body: unknown,
    query: Record<string, string>,
  ): Promise<FakeResponse> {
    const [jobId] = rest;
    if (jobId === undefined) {
      if (method !== 'POST') return apiError(501, 'notImplemented', 'jobs.list');
      return this.#insertJob(body as Record<string, unknown>);
    }
    const job = this.jobs.get(jobId);
    if (!job || (query.location && query.location !== this.#location(job))) {
      return apiError(404, 'notFound', `Not found: Job ${this.project}:${query.location ?? 'US'}.${jobId}`);
    }
    if (method !== 'GET') return apiError(501, 'notImplemented', `${method} job`);
    return json(200, this.#view(job));
  }

  #location(job: JobRecord): string {
    return String((job.resource.jobReference as { location?: string }).location ?? 'US');
  }

  #view(job: JobRecord): Record<string, unknown> {
    if (job.pendingPolls > 0) {
      job.pendingPolls -= 1;
      return { ...job.resource, status: { state: 'RUNNING' } };
    }
    return job.resource;
  }

  async #insertJob(body: Record<string, unknown>): Promise<FakeResponse> {
    const reference = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    const jobId = reference.jobId ?? `job_${this.jobs.size + 1}`;
    if (!/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) return apiError(400, 'invalid', `Invalid job ID "${jobId}"`);
    if (this.jobs.has(jobId))
      return apiError(
        409,
        'duplicate',
        `Already Exists: Job ${this.project}:${reference.location ?? 'US'}.${jobId}`,
      );
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const location = reference.location ?? 'US';
    const started = Date.now();
    const record: JobRecord = {
      pendingPolls: this.pendingPollsPerJob,
      resource: {
        kind: 'bigquery#job',
        id: `${this.project}:${location}.${jobId}`,
        jobReference: { projectId: this.project, jobId, location },
        configuration,
        status: { state: 'RUNNING' },
        statistics: { creationTime: String(started), startTime: String(started) },
      },
    };
    this.jobs.set(jobId, record);
    const injected = this.jobFailures.find((f) => f.remaining > 0 && f.jobId.test(jobId));
    try {
      if (injected) {
        injected.remaining -= 1;
        throw new FakeBigQueryError(injected.reason, injected.message);
      }
      if (configuration.load) {
        const load = await runLoad(this, configuration.load as LoadConfiguration);
        record.resource.statistics = { ...(record.resource.statistics as object), load };
        this.#done(record);
      } else if (configuration.query) {
        await this.#startQuery(jobId, record, configuration.query as QueryConfiguration);
      } else {
        throw new FakeBigQueryError('invalid', 'fake BigQuery runs load and query jobs only');
      }
    } catch (error) {
      this.#fail(jobId, record, error);
    }
    // jobs.insert answers with the job as created, still RUNNING (as BigQuery does for loads and DML): the
    // outcome, including errorResult, is seen only by polling jobs.get.
    return json(200, { ...record.resource, status: { state: 'RUNNING' } });
  }

  #fail(jobId: string, record: JobRecord, error: unknown): void {
    if (!(error instanceof FakeBigQueryError)) throw error;
    this.failedJobs.push(jobId);
    const errorResult = { reason: error.reason, message: error.message, location: 'job' };
    record.resource.status = { state: 'DONE', errorResult, errors: [errorResult] };
    (record.resource.statistics as Record<string, unknown>).endTime = String(Date.now());
  }

  #done(record: JobRecord): void {
    record.resource.status = { state: 'DONE' };
    (record.resource.statistics as Record<string, unknown>).endTime = String(Date.now());
  }

  async #startQuery(jobId: string, record: JobRecord, query: QueryConfiguration): Promise<void> {
    const print = footprint(query.query ?? '');
    checkTransactionSize(print, this.limits);
    const blocked = this.#blocker(print);
    if (blocked !== undefined) {
      if (print.transaction) throw concurrentUpdateError(`${this.project}:${blocked}`);
      record.resource.status = { state: 'PENDING' };
      this.#queued.push({
        jobId,
        print,
        start: async () => {
          try {
            await this.#runQueryJob(jobId, record, query, print);
          } catch (error) {
            this.#fail(jobId, record, error);
          }
        },
      });
      return;
    }
    await this.#runQueryJob(jobId, record, query, print);
  }

  async #runQueryJob(
    jobId: string,
    record: JobRecord,
    query: QueryConfiguration,
    print: JobFootprint,
  ): Promise<void> {
    record.resource.status = { state: 'RUNNING' };
    const pending = await this.#runQuery(query);
    const hold = this.#holds.find((h) => h.remaining > 0 && h.jobId.test(jobId));
    if (hold) {
      hold.remaining -= 1;
      this.#held.set(jobId, { record, pending, print });
      for (const waiter of [...this.#heldWaiters]) {
        if (!waiter.jobId.test(jobId)) continue;
        this.#heldWaiters.splice(this.#heldWaiters.indexOf(waiter), 1);
        waiter.resolve(jobId);
      }
      return;
    }
    await pending.commit();
    this.#finishQuery(record, pending.outcome);
  }

  #finishQuery(record: JobRecord, outcome: QueryOutcome): void {
    record.result = outcome;
    record.resource.statistics = {
      ...(record.resource.statistics as object),
      totalBytesProcessed: String(outcome.bytesProcessed),
      query: {
        statementType: outcome.statementType,
        totalBytesProcessed: String(outcome.bytesProcessed),
        totalBytesBilled: String(outcome.bytesBilled),
        numDmlAffectedRows: String(outcome.affectedRows),
        dmlStats: {
          insertedRowCount: String(outcome.inserted),
          updatedRowCount: String(outcome.updated),
          deletedRowCount: '0',
        },
      },
    };
    this.#done(record);
  }

  async #runQuery(query: QueryConfiguration): Promise<PendingQuery> {
    if (query.useLegacySql !== false)
      throw new FakeBigQueryError('invalid', 'Sluice must send useLegacySql: false');
    const params: Record<string, DuckDBValue> = {};
    const arrays: Record<string, ParamTable> = {};
    for (const p of query.queryParameters ?? []) {
      if (!p.name) throw new FakeBigQueryError('invalid', 'positional parameters are not used by Sluice');
      if (p.parameterType?.type === 'ARRAY') {
        const fields = p.parameterType.arrayType?.structTypes ?? [];
        arrays[p.name] = {
          columns: fields.map((f) => ({ name: f.name, type: f.type.type })),
          rows: (p.parameterValue?.arrayValues ?? []).map((v) =>
            fields.map((f) => v.structValues?.[f.name]?.value ?? null),
          ),
        };
        continue;
      }
      const value = p.parameterValue?.value ?? null;
      const type = p.parameterType?.type ?? 'STRING';
      params[p.name] = value === null ? null : type === 'INT64' ? BigInt(value) : value;
    }
    const pending = await this.engine.begin(query.query ?? '', params, arrays);
    if (this.bytesProcessedFor) {
      const processed = this.bytesProcessedFor(query.query ?? '', pending.outcome.bytesProcessed);
      const mb = 1024 * 1024;
      pending.outcome.bytesProcessed = processed;
      pending.outcome.bytesBilled = Math.max(pending.outcome.bytesBilled, Math.ceil(processed / mb) * mb);
    }
    return pending;
  }
}

interface QueryConfiguration {
  query?: string;
  useLegacySql?: boolean;
  queryParameters?: QueryParameter[];
  parameterMode?: string;
}
