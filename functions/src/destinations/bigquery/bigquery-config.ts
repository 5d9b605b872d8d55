/** BigQuery + Cloud Storage settings of the loader (part of `LoaderConfig`, parsed by `loadConfig`). */
export interface BigQueryConfig {
  /** `SLUICE_GCP_PROJECT` (else `GOOGLE_CLOUD_PROJECT`): project that owns the dataset and runs the jobs. */
  projectId: string;
  /** `SLUICE_BQ_DATASET` (default `sluice`). */
  datasetId: string;
  /** `SLUICE_BQ_LOCATION` (default `US`): dataset location; jobs run there. */
  location: string;
  /** `SLUICE_BIGQUERY_ENDPOINT`: BigQuery API root for tests and proxies (default Google's). */
  bigqueryEndpoint: string | undefined;
  /** `STORAGE_EMULATOR_HOST`: Cloud Storage API root for tests and proxies (default Google's). */
  storageEndpoint: string | undefined;
  /** `SLUICE_STAGING_BUCKET` (default `<SLUICE_RAW_BUCKET>-staging`): NOT the raw bucket (its trigger fires). */
  stagingBucket: string;
  /** `SLUICE_STAGING_PREFIX` (default `sluice-staging/`). */
  stagingPrefix: string;
  /** `SLUICE_BQ_TIME_BUDGET_SECONDS` (default 480 = a 540 s function timeout minus a minute). */
  timeBudgetMs: number;
  /**
   * `SLUICE_BQ_USERS_REFRESH_MINUTES` (default 60): each upsert table (`users`, `accounts`) is refreshed from its
   * log at most this often.
   */
  usersRefreshIntervalMs: number;
  /** `SLUICE_BQ_MAX_PARTITIONS_PER_FILE` (default 2000): partition modifications one file's load jobs may make. */
  maxPartitionsPerFile: number;
}

const DATASET = /^[A-Za-z0-9_]{1,1024}$/;

/** Reads the BigQuery settings; adds problems (only checked as required when the destination is bigquery). */
export function readBigQueryConfig(
  env: Record<string, string | undefined>,
  required: boolean,
  rawBucket: string,
  problems: string[],
): BigQueryConfig {
  const projectId = env.SLUICE_GCP_PROJECT || env.GOOGLE_CLOUD_PROJECT || '';
  const datasetId = env.SLUICE_BQ_DATASET || 'sluice';
  const location = env.SLUICE_BQ_LOCATION || 'US';
  const budgetRaw = env.SLUICE_BQ_TIME_BUDGET_SECONDS;
  const budget = budgetRaw === undefined || budgetRaw === '' ? 480 : Number(budgetRaw);
  const stagingBucket = env.SLUICE_STAGING_BUCKET || `${rawBucket}-staging`;
  if (required) {
    if (!projectId)
      problems.push(
        'SLUICE_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT) is required with SLUICE_DESTINATION=bigquery',
      );
    if (!DATASET.test(datasetId))
      problems.push(`SLUICE_BQ_DATASET must be letters, digits and _ (got ${JSON.stringify(datasetId)})`);
    if (stagingBucket === rawBucket) {
      problems.push(
        'SLUICE_STAGING_BUCKET must differ from SLUICE_RAW_BUCKET (every object there triggers the loader)',
      );
    }
  }
  if (!Number.isInteger(budget) || budget <= 0) {
    problems.push(
      `SLUICE_BQ_TIME_BUDGET_SECONDS must be a positive integer (got ${JSON.stringify(budgetRaw)})`,
    );
  }
  const nonNegative = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      problems.push(`${name} must be a non-negative integer (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  const usersRefreshMinutes = nonNegative('SLUICE_BQ_USERS_REFRESH_MINUTES', 60);
  const maxPartitionsPerFile = nonNegative('SLUICE_BQ_MAX_PARTITIONS_PER_FILE', 2000);
  const endpoint = (value: string | undefined): string | undefined =>
    value ? (/^https?:\/\//.test(value) ? value : `http://${value}`).replace(/\/+$/, '') : undefined;
  return {
    projectId,
    datasetId,
    location,
    bigqueryEndpoint: endpoint(env.SLUICE_BIGQUERY_ENDPOINT),
    storageEndpoint: endpoint(env.STORAGE_EMULATOR_HOST),
    stagingBucket,
    stagingPrefix: env.SLUICE_STAGING_PREFIX ?? 'sluice-staging/',
    timeBudgetMs: (Number.isInteger(budget) && budget > 0 ? budget : 480) * 1000,
    usersRefreshIntervalMs: usersRefreshMinutes * 60_000,
    maxPartitionsPerFile,
  };
}
