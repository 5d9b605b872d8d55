import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';

export interface ServiceAccountProps {
  project: string;
  accountId: string;
  displayName: string;
  dependsOn: ITerraformDependable[];
}

/** A service account and its IAM member string (`serviceAccount:<email>`). */
export function serviceAccount(
  scope: Construct,
  id: string,
  props: ServiceAccountProps,
): { resource: ServiceAccount; email: string; member: string } {
  const resource = new ServiceAccount(scope, id, {
    project: props.project,
    accountId: props.accountId,
    displayName: props.displayName,
    dependsOn: props.dependsOn,
  });
  return { resource, email: resource.email, member: resource.member };
}
