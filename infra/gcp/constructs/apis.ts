import { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import type { Construct } from 'constructs';

/**
 * Every API the project and environment stacks call, by what calls it. Enabled once per project by the project
 * stack; never disabled on destroy (other workloads may share them). `serviceusage.googleapis.com` itself must be
 * on before Terraform can enable anything (it is on in every new project; docs/deploy.md says how to check).
 */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com', // function images
  'bigquery.googleapis.com', // dataset, load jobs
  'cloudbuild.googleapis.com', // function builds
  'cloudfunctions.googleapis.com', // the loader (and the all-users collector)
  'cloudresourcemanager.googleapis.com', // data google_project, project-level IAM grants
  'cloudscheduler.googleapis.com', // the scheduled identity update's job
  'eventarc.googleapis.com', // the loader's trigger
  'iam.googleapis.com', // service accounts
  'logging.googleapis.com', // log-based metrics
  'monitoring.googleapis.com', // alert policies, notification channel, dashboard
  'pubsub.googleapis.com', // topics, subscriptions
  'run.googleapis.com', // 2nd-gen functions run on Cloud Run; the collector service
  'secretmanager.googleapis.com', // write-keys secret access
  'storage.googleapis.com', // buckets
] as const;
export type RequiredApi = (typeof REQUIRED_APIS)[number];

export function enableApis(scope: Construct, project: string): Map<RequiredApi, ProjectService> {
  return new Map(
    REQUIRED_APIS.map((service) => [
      service,
      new ProjectService(scope, `api-${service.split('.')[0]}`, {
        project,
        service,
        disableOnDestroy: false,
        disableDependentServices: false,
      }),
    ]),
  );
}
