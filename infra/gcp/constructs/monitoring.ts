import {
  MonitoringAlertPolicy,
  type MonitoringAlertPolicyConditions,
} from '@cdktf/provider-google/lib/monitoring-alert-policy/index.js';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard/index.js';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import {
  type LoaderMetrics,
  loaderLogFilter,
  metricType,
  promqlName,
  QUARANTINED_CODE,
} from './loader-metrics.ts';

export interface MonitoringProps {
  config: Pick<
    GcpConfig,
    'project' | 'environment' | 'windowSeconds' | 'alertEmail' | 'failedEventsAlertRatio'
  >;
  names: { loaderFunction: string; subscription: string; deadLetterSubscription: string; topic: string };
  metrics: LoaderMetrics;
}

/** What each alert is about; the test checks every environment has all of them. */
export const ALERTS = [
  'loader-failing',
  'raw-files-backlog',
  'dead-letters',
  'failed-events-share',
  'file-quarantined',
] as const;
export type Alert = (typeof ALERTS)[number];

const RUNBOOK = 'docs/deploy.md, section "When production alerts"';

/**
 * Cloud Monitoring alert policies to one email channel, and a dashboard. Log-match conditions need a notification
 * rate limit (https://cloud.google.com/monitoring/alerts/log-based-alerts); metric conditions read Pub/Sub's
 * subscription metrics (https://cloud.google.com/pubsub/docs/monitoring) and the loader's log-based metrics.
 */
export function monitoring(scope: Construct, props: MonitoringProps): Record<Alert, MonitoringAlertPolicy> {
  const { config, names, metrics } = props;
  const channel = new MonitoringNotificationChannel(scope, 'alert-email', {
    project: config.project,
    displayName: `Sluice alerts (${config.environment})`,
    type: 'email',
    labels: { email_address: config.alertEmail },
  });
  const loader = loaderLogFilter(names.loaderFunction);
  const subscriptionMetric = (subscription: string, metric: string): string =>
    `resource.type="pubsub_subscription" AND resource.labels.subscription_id="${subscription}" AND metric.type="pubsub.googleapis.com/subscription/${metric}"`;
  const policy = (
    alert: Alert,
    displayName: string,
    what: string,
    conditions: MonitoringAlertPolicyConditions[],
  ) =>
    new MonitoringAlertPolicy(scope, `alert-${alert}`, {
      project: config.project,
      displayName: `Sluice ${config.environment}: ${displayName}`,
      combiner: 'OR',
      notificationChannels: [channel.id],
      severity: alert === 'raw-files-backlog' || alert === 'failed-events-share' ? 'WARNING' : 'ERROR',
      userLabels: { app: 'sluice', environment: config.environment },
      documentation: { content: `${what}\n\nRunbook: ${RUNBOOK}.`, mimeType: 'text/markdown' },
      conditions,
      alertStrategy: conditions.some((c) => c.conditionMatchedLog !== undefined)
        ? { notificationRateLimit: { period: '300s' }, autoClose: '1800s' }
        : { autoClose: '1800s' },
      dependsOn: Object.values(metrics),
    });
  const failedSum = `sum(rate(${promqlName(metrics.events_failed.name)}_sum[1h]))`;
  const loadedSum = `sum(rate(${promqlName(metrics.events_loaded.name)}_sum[1h]))`;

  const alerts: Record<Alert, MonitoringAlertPolicy> = {
    'loader-failing': policy(
      'loader-failing',
      'loader invocations failing',
      'The loader threw (an error code from its registry, docs/errors/functions.md) and Eventarc will retry.',
      [
        {
          displayName: 'loader logged an error or a retryable failure',
          conditionMatchedLog: {
            filter: `${loader} AND (severity>=ERROR OR (severity=WARNING AND jsonPayload.code=~"^SLUICE_ERR_"))`,
            labelExtractors: { code: 'EXTRACT(jsonPayload.code)' },
          },
        },
      ],
    ),
    'raw-files-backlog': policy(
      'raw-files-backlog',
      'raw-file subscription backlog older than 2 windows',
      'The Cloud Storage subscription is not writing window files (bucket permission, bucket gone).',
      [
        {
          displayName: 'oldest unacked message age > 2 windows',
          conditionThreshold: {
            filter: subscriptionMetric(names.subscription, 'oldest_unacked_message_age'),
            comparison: 'COMPARISON_GT',
            thresholdValue: 2 * config.windowSeconds,
            duration: '60s',
            aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
          },
        },
      ],
    ),
    'dead-letters': policy(
      'dead-letters',
      'messages in the dead-letter topic',
      'Pub/Sub gave up writing some events to the raw bucket; they wait in the dead-letter subscription (7 days).',
      [
        {
          displayName: 'dead-letter subscription holds messages',
          conditionThreshold: {
            filter: subscriptionMetric(names.deadLetterSubscription, 'num_undelivered_messages'),
            comparison: 'COMPARISON_GT',
            thresholdValue: 0,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
          },
        },
      ],
    ),
    'failed-events-share': policy(
      'failed-events-share',
      `failed events above ${config.failedEventsAlertRatio * 100}% of loaded events`,
      'Events land in the failed events table instead of their tables (a client sending bad data, a contract).',
      [
        {
          displayName: 'failed / loaded events over 1 h',
          conditionPrometheusQueryLanguage: {
            query: `${failedSum} / ${loadedSum} > ${config.failedEventsAlertRatio}`,
            duration: '0s',
            evaluationInterval: '300s',
          },
        },
      ],
    ),
    'file-quarantined': policy(
      'file-quarantined',
      'a raw file was quarantined',
      'The loader gave up on a file after repeated failures; its loads row has status quarantined and a reason.',
      [
        {
          displayName: 'loader quarantined a file',
          conditionMatchedLog: {
            filter: `${loader} AND severity>=ERROR AND jsonPayload.code="${QUARANTINED_CODE}"`,
          },
        },
      ],
    ),
  };

  const chart = (title: string, dataSets: object[]) => ({ title, xyChart: { dataSets } });
  const series = (filter: string, aligner: string, reducer?: string, groupBy?: string[]) => ({
    timeSeriesQuery: {
      timeSeriesFilter: {
        filter,
        aggregation: {
          alignmentPeriod: '60s',
          perSeriesAligner: aligner,
          ...(reducer ? { crossSeriesReducer: reducer, groupByFields: groupBy ?? [] } : {}),
        },
      },
    },
    plotType: 'LINE',
  });
  const logMetric = (name: string): string => `metric.type="${metricType(name)}"`;
  const tiles = [
    chart('Events in (published to the topic)', [
      series(
        `resource.type="pubsub_topic" AND resource.labels.topic_id="${names.topic}" AND metric.type="pubsub.googleapis.com/topic/send_message_operation_count"`,
        'ALIGN_RATE',
        'REDUCE_SUM',
      ),
    ]),
    chart('Files loaded, by outcome', [
      series(logMetric(metrics.files_loaded.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
      series(logMetric(metrics.files_already_loaded.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
      series(logMetric(metrics.files_quarantined.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
    ]),
    chart('Events loaded, duplicate, failed', [
      series(logMetric(metrics.events_loaded.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
      series(logMetric(metrics.events_duplicate.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
      series(logMetric(metrics.events_failed.name), 'ALIGN_DELTA', 'REDUCE_SUM'),
    ]),
    chart('Latency per window: oldest unacked event (s)', [
      series(subscriptionMetric(names.subscription, 'oldest_unacked_message_age'), 'ALIGN_MAX'),
    ]),
    chart('Loader run time per file (p95)', [
      series(
        `resource.type="cloud_run_revision" AND resource.labels.service_name="${names.loaderFunction}" AND metric.type="run.googleapis.com/request_latencies"`,
        'ALIGN_PERCENTILE_95',
      ),
    ]),
    chart('Dead-lettered events waiting', [
      series(subscriptionMetric(names.deadLetterSubscription, 'num_undelivered_messages'), 'ALIGN_MAX'),
    ]),
  ];
  new MonitoringDashboard(scope, 'dashboard', {
    project: config.project,
    dashboardJson: JSON.stringify({
      displayName: `Sluice ${config.environment}`,
      mosaicLayout: {
        columns: 12,
        tiles: tiles.map((widget, i) => ({
          xPos: (i % 2) * 6,
          yPos: Math.floor(i / 2) * 4,
          width: 6,
          height: 4,
          widget,
        })),
      },
    }),
  });
  return alerts;
}
