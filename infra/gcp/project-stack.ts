import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { TimeProvider } from '@cdktf/provider-time/lib/provider/index.js';
import { Sleep } from '@cdktf/provider-time/lib/sleep/index.js';
import { GcsBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from './config.ts';
import { enableApis } from './constructs/apis.ts';
import { GoogleBetaProvider } from './constructs/google-beta.ts';
import { type ServiceAgents, serviceAgents } from './constructs/service-agents.ts';
import { projectStackName } from './names.ts';

/**
 * What every environment of one GCP project shares, in one stack (`<prefix>-project-<project>`) that environment
 * stacks depend on: API enablement, the service agents, and the project-level grants to them. Destroying an
 * environment therefore never removes anything another environment needs (before, `ci` and `prod` both declared
 * the Cloud Storage agent's project-level `roles/pubsub.publisher`, and destroying `ci` removed prod's).
 */
export class ProjectStack extends TerraformStack {
  readonly agents: ServiceAgents;
  /** Ends after the project-level grants have had time to propagate; environment stacks read it. */
  readonly ready: Sleep;

  constructor(scope: Construct, configs: readonly GcpConfig[]) {
    const [config] = configs;
    if (!config) throw new Error('a project stack needs at least one environment');
    super(scope, projectStackName(config));
    new GoogleProvider(this, 'google', { project: config.project, region: config.region });
    const beta = new GoogleBetaProvider(this, 'google-beta', {
      project: config.project,
      region: config.region,
    });
    new TimeProvider(this, 'time');
    if (config.stateBucket)
      new GcsBackend(this, { bucket: config.stateBucket, prefix: `sluice/project-${config.project}` });

    const apis = enableApis(this, config.project);
    this.agents = serviceAgents(this, { project: config.project, apis, beta });
    // Project IAM calls Cloud Resource Manager: each grant waits for its enablement.
    const crm = apis.get('cloudresourcemanager.googleapis.com');
    const grant = (id: string, role: string, member: string): ProjectIamMember =>
      new ProjectIamMember(this, id, { project: config.project, role, member, dependsOn: crm ? [crm] : [] });
    const grants = [
      // Eventarc's Cloud Storage triggers publish through Pub/Sub topics Eventarc creates, so project level
      // (https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud#before-you-begin).
      grant('storage-agent-publisher', 'roles/pubsub.publisher', `serviceAccount:${this.agents.storage}`),
      grant('eventarc-agent-role', 'roles/eventarc.serviceAgent', this.agents.eventarc.member),
    ];
    if (configs.some((c) => c.pubsubAgentTokenCreator)) {
      // Projects whose Pub/Sub agent was created on or before 2021-04-08 need it to mint push tokens
      // (https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud#before-you-begin).
      grants.push(
        grant(
          'pubsub-agent-token-creator',
          'roles/iam.serviceAccountTokenCreator',
          this.agents.pubsub.member,
        ),
      );
    }
    this.ready = new Sleep(this, 'project-grants-propagated', { createDuration: '120s', dependsOn: grants });
    new TerraformOutput(this, 'project_number', { value: this.agents.projectNumber });
    new TerraformOutput(this, 'pubsub_agent', { value: this.agents.pubsub.email });
  }
}
