import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account/index.js';
import type { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import { Sleep } from '@cdktf/provider-time/lib/sleep/index.js';
import type { Construct } from 'constructs';
import type { RequiredApi } from './apis.ts';
import { type GoogleBetaProvider, ProjectServiceIdentity } from './google-beta.ts';

/** Google-managed service agents the stacks grant narrow roles to, each created before anything grants to it. */
export interface ServiceAgents {
  projectNumber: string;
  /** Writes the subscription's window files and dead-letters: `service-<number>@gcp-sa-pubsub...`. */
  pubsub: ProjectServiceIdentity;
  /** Eventarc's agent (runs the loader's trigger). */
  eventarc: ProjectServiceIdentity;
  /** Email of the Cloud Storage agent, which publishes the bucket's object notifications Eventarc consumes. */
  storage: string;
  /** Waits out service-agent creation after the APIs are enabled (see below). */
  settled: Sleep;
}

/**
 * Creates the Pub/Sub and Eventarc service agents explicitly (`google_project_service_identity`) instead of
 * assuming enabling their API did: first applies otherwise fail with "Service account ... does not exist"
 * (hashicorp/terraform-provider-google#14584, #19085, #25294; terraform-docs-samples#486). The Cloud Storage agent
 * is created by reading it (`google_storage_project_service_account` calls `projects.serviceAccount.get`, which
 * creates it), only after the Storage API is on. The `time_sleep` gives new agents time to become grantable:
 * Google documents that IAM changes, including to new principals, propagate in about 2 minutes, up to 7
 * (https://cloud.google.com/iam/docs/access-change-propagation).
 */
export function serviceAgents(
  scope: Construct,
  props: {
    project: string;
    apis: Map<RequiredApi, ProjectService>;
    beta: GoogleBetaProvider;
  },
): ServiceAgents {
  const api = (name: RequiredApi): ProjectService => {
    const service = props.apis.get(name);
    if (!service) throw new Error(`API ${name} is not in REQUIRED_APIS`);
    return service;
  };
  const project = new DataGoogleProject(scope, 'project', {
    projectId: props.project,
    dependsOn: [api('cloudresourcemanager.googleapis.com')],
  });
  const pubsub = new ProjectServiceIdentity(scope, 'pubsub-agent', {
    project: props.project,
    service: 'pubsub.googleapis.com',
    provider: props.beta,
    dependsOn: [api('pubsub.googleapis.com')],
  });
  const eventarc = new ProjectServiceIdentity(scope, 'eventarc-agent', {
    project: props.project,
    service: 'eventarc.googleapis.com',
    provider: props.beta,
    dependsOn: [api('eventarc.googleapis.com')],
  });
  const settled = new Sleep(scope, 'service-agents-settled', {
    createDuration: '60s',
    dependsOn: [pubsub, eventarc, api('storage.googleapis.com')],
  });
  const storage = new DataGoogleStorageProjectServiceAccount(scope, 'storage-agent', {
    project: props.project,
    dependsOn: [api('storage.googleapis.com'), settled],
  });
  return { projectNumber: project.number, pubsub, eventarc, storage: storage.emailAddress, settled };
}
