import type { BigQuery } from '@google-cloud/bigquery';
import { LoaderError } from '../../errors.ts';
import { isRetryableJobError, type RetryPolicy, waitOrGiveUp, withRetry } from './retry.ts';

export interface JobResult {
  jobId: string;
  /** The job existed already (a retried load found it through 409 -> jobs.get). */
  reused: boolean;
  statistics: JobStatistics;
  /** On-demand bytes billed (`statistics.query.totalBytesBilled`; 0 for load jobs, which are free). */
  bytesBilled: bigint;
  bytesProcessed: bigint;
}

export interface JobStatistics {
  totalBytesProcessed?: string;
  query?: {
    totalBytesProcessed?: string;
    totalBytesBilled?: string;
    statementType?: string;
    numDmlAffectedRows?: string;
    dmlStats?: { insertedRowCount?: string; updatedRowCount?: string; deletedRowCount?: string };
  };
  load?: { outputRows?: string; inputFileBytes?: string };
}

interface JobResource {
  status?: { state?: string; errorResult?: { reason?: string; message?: string } };
  statistics?: JobStatistics;
}

export interface JobRunner {
  /**
   * Runs a job whose id is derived from `baseId` (`<baseId>_<attempt>`): the insert is idempotent — a 409 means the
   * job already exists (an earlier delivery created it), so it is looked up and awaited instead of run twice
   * (BigQuery keeps the ORIGINAL job under its id). A job that failed changed nothing (jobs are atomic), so:
   * - one this call inserted that ended with a retryable reason (backendError, rateLimitExceeded, a concurrent-update
   *   conflict ...) is retried under the next attempt id; one that is invalid throws the non-retryable REJECTED error;
   * - one an EARLIER delivery left failed (found through 409) is stepped over to the next attempt id, whatever
   *   its reason: a replay after the cause was fixed is not blocked by the old failure.
   */
  run(baseId: string, configuration: Record<string, unknown>, policy: RetryPolicy): Promise<JobResult>;
  /** Rows of a finished query job. */
  rows(jobId: string, policy: RetryPolicy): Promise<Record<string, unknown>[]>;
}

export interface JobRunnerOptions {
  bigquery: BigQuery;
  location: string;
  pollInitialMs: number;
  pollMaxMs: number;
}

export function jobRunner(options: JobRunnerOptions): JobRunner {
  const { bigquery, location } = options;

  const getJob = async (jobId: string, policy: RetryPolicy): Promise<JobResource> => {
    const got = await withRetry(policy, `jobs.get ${jobId}`, async () => {
      const [metadata] = await bigquery.job(jobId, { location }).getMetadata();
      return metadata as JobResource;
    });
    if (!got.ok) {
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', `job ${jobId} not visible yet`, {
        cause: got.error,
      });
    }
    return got.value;
  };

  const awaitDone = async (jobId: string, policy: RetryPolicy): Promise<JobResource> => {
    let delay = options.pollInitialMs;
    for (;;) {
      const job = await getJob(jobId, policy);
      if (job.status?.state === 'DONE') return job;
      if (policy.now() + delay >= policy.deadline) {
        throw new LoaderError(
          'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE',
          `job ${jobId} still running at the deadline`,
        );
      }
      await policy.sleep(delay);
      delay = Math.min(options.pollMaxMs, delay * 2);
    }
  };

  return {
    async run(baseId, configuration, policy) {
      for (let attempt = 0; ; attempt++) {
        const jobId = `${baseId}_${attempt}`;
        const inserted = await withRetry(policy, `jobs.insert ${jobId}`, () =>
          bigquery.createJob({ jobId, location, configuration }),
        );
        if (!inserted.ok && inserted.kind === 'not-found') {
          throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', `jobs.insert ${jobId}: not found`, {
            cause: inserted.error,
          });
        }
        const reused = !inserted.ok;
        const job = await awaitDone(jobId, policy);
        const error = job.status?.errorResult;
        if (!error) {
          const statistics = job.statistics ?? {};
          return {
            jobId,
            reused,
            statistics,
            bytesBilled: BigInt(statistics.query?.totalBytesBilled ?? '0'),
            bytesProcessed: BigInt(
              statistics.query?.totalBytesProcessed ?? statistics.totalBytesProcessed ?? '0',
            ),
          };
        }
        if (reused) continue;
        if (isRetryableJobError(error)) {
          await waitOrGiveUp(policy, attempt, `job ${jobId} (${error.reason})`, error);
          continue;
        }
        throw new LoaderError(
          'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
          `job ${jobId} failed: ${error.reason ?? 'unknown'}: ${error.message ?? ''}`,
        );
      }
    },

    async rows(jobId, policy) {
      const got = await withRetry(policy, `getQueryResults ${jobId}`, async () => {
        const [rows] = await bigquery.job(jobId, { location }).getQueryResults({ autoPaginate: true });
        return rows as Record<string, unknown>[];
      });
      if (!got.ok)
        throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', `results of ${jobId} not found`);
      return got.value;
    },
  };
}
