import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { Construct } from 'constructs';

export interface ServiceAccountProps {
  project: string;
  accountId: string;
  displayName: string;
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
  });
  return { resource, email: resource.email, member: resource.member };
}
