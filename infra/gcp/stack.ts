import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { GcsBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { byProject, type GcpConfig } from './config.ts';
import { collectorService } from './constructs/collector-service.ts';
import { eventsTopic } from './constructs/events-topic.ts';
import { functionBuild } from './constructs/function-build.ts';
import { identityUpdate } from './constructs/identity-update.ts';
import { loaderFunction } from './constructs/loader-function.ts';
import { loaderMetrics } from './constructs/loader-metrics.ts';
import { monitoring } from './constructs/monitoring.ts';
import { privacyBucket } from './constructs/privacy-bucket.ts';
import { rawBucket } from './constructs/raw-bucket.ts';
import { sourceArchive, sourceBucket } from './constructs/source-bucket.ts';
import { stagingBucket } from './constructs/staging-bucket.ts';
import { warehouseDataset } from './constructs/warehouse-dataset.ts';
import { resourceNames } from './names.ts';
import { ProjectStack } from './project-stack.ts';

/** Directories prepared by package-function.ts; each becomes a zip uploaded to the source bucket. */
export interface FunctionSources {
  loaderDir: string;
  collectorDir: string;
}

/**
 * One environment: everything from the collector to the dataset, named `<prefix>-<environment>`. It depends on its
 * project's stack (APIs, service agents, project-level grants to them) and declares nothing project-wide: the only
 * project-level grants here are to this environment's own service accounts.
 */
export class SluiceStack extends TerraformStack {
  constructor(scope: Construct, config: GcpConfig, sources: FunctionSources, project: ProjectStack) {
    const names = resourceNames(config);
    super(scope, names.stack);
    this.addDependency(project);
    new GoogleProvider(this, 'google', { project: config.project, region: config.region });
    if (config.stateBucket) {
      new GcsBackend(this, { bucket: config.stateBucket, prefix: `sluice/${config.environment}` });
    }

    const raw = rawBucket(this, { config, name: names.rawBucket });
    const staging = stagingBucket(this, { config, name: names.stagingBucket });
    const source = sourceBucket(this, { config, name: names.sourceBucket });
    const privacy = privacyBucket(this, { config, name: names.privacyBucket });
    const dataset = warehouseDataset(this, { config, datasetId: names.dataset, location: config.region });
    const events = eventsTopic(this, {
      config,
      names,
      rawBucket: raw,
      // A cross-stack reference: the project stack's google_project_service_identity, read from its state.
      pubsubAgent: `serviceAccount:${project.agents.pubsub.email}`,
    });
    const build = functionBuild(this, {
      config,
      names,
      sourceBucket: source,
      projectNumber: project.agents.projectNumber,
    });

    const loaderSource = sourceArchive(this, 'loader', { bucket: source, dir: sources.loaderDir });
    const loader = loaderFunction(this, {
      config,
      names,
      rawBucket: raw,
      stagingBucket: staging,
      privacyBucket: privacy,
      dataset,
      source: loaderSource,
      build,
    });
    const identity = identityUpdate(this, {
      config,
      names,
      stagingBucket: staging,
      dataset,
      source: loaderSource,
      build,
    });
    const collector = collectorService(this, {
      config,
      names,
      topic: events.topic,
      privacyBucket: privacy,
      source: sourceArchive(this, 'collector', { bucket: source, dir: sources.collectorDir }),
      build,
    });
    const metrics = loaderMetrics(this, {
      project: config.project,
      prefix: names.metricPrefix,
      suffix: names.metricSuffix,
      loaderService: names.loaderFunction,
    });
    monitoring(this, { config, names, metrics });

    new TerraformOutput(this, 'collector_url', {
      value: collector.url,
      description: 'Point the SDK here (apiHost / host)',
    });
    new TerraformOutput(this, 'dataset', { value: `${config.project}.${dataset.datasetId}` });
    new TerraformOutput(this, 'raw_bucket', { value: raw.name });
    new TerraformOutput(this, 'privacy_bucket', {
      value: privacy.name,
      description: 'SLUICE_PRIVACY_BUCKET for npm run privacy',
    });
    new TerraformOutput(this, 'topic', { value: events.topic.id });
    new TerraformOutput(this, 'dead_letter_subscription', { value: events.deadLetterSubscription.id });
    new TerraformOutput(this, 'loader', { value: loader.name });
    new TerraformOutput(this, 'identity_update_job', { value: identity.job.name });
  }
}

/** The whole app: one project stack per GCP project, one environment stack per environment file. */
export function sluiceStacks(
  scope: Construct,
  configs: readonly GcpConfig[],
  sources: FunctionSources,
): { projects: ProjectStack[]; environments: SluiceStack[] } {
  const projects: ProjectStack[] = [];
  const environments: SluiceStack[] = [];
  for (const group of byProject(configs).values()) {
    const project = new ProjectStack(scope, group);
    projects.push(project);
    for (const config of group) environments.push(new SluiceStack(scope, config, sources, project));
  }
  return { projects, environments };
}
