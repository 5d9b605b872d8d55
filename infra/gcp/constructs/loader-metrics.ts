import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric/index.js';
import type { Construct } from 'constructs';

/**
 * The loader's log contract (functions/src/load/load-object.ts): after each file one JSON line (pino, Cloud
 * Logging `severity`, `component: "sluice-loader"`) with message `file loaded` and `outcome`
 * (`loaded` | `already_loaded` | `quarantined`), `linesRead`, `eventsLoaded`, `duplicates`, `failed`; a quarantine
 * also logs severity ERROR with `code: "SLUICE_ERR_LOAD_QUARANTINED"`; a load that will retry logs WARNING
 * `load failed; will retry` with its `code`. Filters use the Logging query language
 * (https://cloud.google.com/logging/docs/view/logging-query-language).
 */
export const LOADER_COMPONENT = 'sluice-loader';
export const FILE_LOADED_MESSAGE = 'file loaded';
export const QUARANTINED_CODE = 'SLUICE_ERR_LOAD_QUARANTINED';

/** Every log line of one environment's loader (2nd-gen functions log as their Cloud Run service). */
export const loaderLogFilter = (loaderService: string): string =>
  [
    'resource.type="cloud_run_revision"',
    `resource.labels.service_name="${loaderService}"`,
    `jsonPayload.component="${LOADER_COMPONENT}"`,
  ].join(' AND ');

export const fileLoadedFilter = (loaderService: string): string =>
  `${loaderLogFilter(loaderService)} AND jsonPayload.message="${FILE_LOADED_MESSAGE}"`;

/**
 * One metric per outcome: files by `outcome`, and events by the counts of each `file loaded` line whose outcome is
 * `loaded` (a redelivery's `already_loaded` line carries the same counts again).
 */
export const LOADER_METRICS = {
  files_loaded: { outcome: 'loaded' },
  files_already_loaded: { outcome: 'already_loaded' },
  files_quarantined: { outcome: 'quarantined' },
  events_loaded: { field: 'eventsLoaded' },
  events_duplicate: { field: 'duplicates' },
  events_failed: { field: 'failed' },
} as const satisfies Record<string, { outcome: string } | { field: string }>;
export type LoaderMetric = keyof typeof LOADER_METRICS;

export type LoaderMetrics = Record<LoaderMetric, LoggingMetric>;

/** The metric's full name as log-based metrics are addressed (`logging.googleapis.com/user/<name>`). */
export const metricType = (name: string): string => `logging.googleapis.com/user/${name}`;
/** The same metric in Cloud Monitoring's PromQL (https://cloud.google.com/monitoring/promql/promql-mapping). */
export const promqlName = (name: string): string => `logging_googleapis_com:user_${name}`;

/**
 * Log-based metrics (https://cloud.google.com/logging/docs/logs-based-metrics): counters of `file loaded` lines
 * per outcome, and distributions of the per-file event counts (their `_sum` is events per interval).
 */
export function loaderMetrics(
  scope: Construct,
  props: { project: string; prefix: string; suffix: string; loaderService: string },
): LoaderMetrics {
  const base = fileLoadedFilter(props.loaderService);
  const entries = Object.entries(LOADER_METRICS).map(([key, spec]) => {
    const name = `${props.prefix}${key}${props.suffix}`;
    const metric =
      'outcome' in spec
        ? new LoggingMetric(scope, `metric-${key}`, {
            project: props.project,
            name,
            description: `Sluice loader: files with outcome ${spec.outcome}`,
            filter: `${base} AND jsonPayload.outcome="${spec.outcome}"`,
            metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
          })
        : new LoggingMetric(scope, `metric-${key}`, {
            project: props.project,
            name,
            description: `Sluice loader: ${spec.field} per file`,
            // Only the delivery that committed the file: a redelivery's `already_loaded` line repeats its counts.
            filter: `${base} AND jsonPayload.outcome="loaded"`,
            valueExtractor: `EXTRACT(jsonPayload.${spec.field})`,
            metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: '1' },
            bucketOptions: { exponentialBuckets: { numFiniteBuckets: 32, growthFactor: 2, scale: 1 } },
          });
    return [key, metric] as const;
  });
  return Object.fromEntries(entries) as LoaderMetrics;
}
