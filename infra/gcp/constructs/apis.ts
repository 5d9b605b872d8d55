import { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

/** Every API the stack uses. Enabled by the stack; never disabled on destroy (other workloads may share them). */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'bigquery.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'eventarc.googleapis.com',
  'iam.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
] as const;

export function enableApis(scope: Construct, config: Pick<GcpConfig, 'project'>): ProjectService[] {
  return REQUIRED_APIS.map(
    (service) =>
      new ProjectService(scope, `api-${service.split('.')[0]}`, {
        project: config.project,
        service,
        disableOnDestroy: false,
        disableDependentServices: false,
      }),
  );
}
