import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

/** Google-managed service agents the stack grants narrow roles to (emails, as Terraform references). */
export interface ServiceAgents {
  /** Writes the subscription's window files: `service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com`. */
  pubsub: string;
  /** Publishes the bucket's object notifications that Eventarc turns into CloudEvents. */
  storage: string;
}

export function serviceAgents(
  scope: Construct,
  props: { config: Pick<GcpConfig, 'project'>; dependsOn: ITerraformDependable[] },
): ServiceAgents {
  const project = new DataGoogleProject(scope, 'project', { projectId: props.config.project });
  const storage = new DataGoogleStorageProjectServiceAccount(scope, 'storage-agent', {
    project: props.config.project,
    dependsOn: props.dependsOn,
  });
  return {
    pubsub: `service-${project.number}@gcp-sa-pubsub.iam.gserviceaccount.com`,
    storage: storage.emailAddress,
  };
}
