import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { GcsBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from './config.ts';
import { enableApis } from './constructs/apis.ts';
import { collectorService } from './constructs/collector-service.ts';
import { eventsTopic } from './constructs/events-topic.ts';
import { functionBuild } from './constructs/function-build.ts';
import { loaderFunction } from './constructs/loader-function.ts';
import { rawBucket } from './constructs/raw-bucket.ts';
import { serviceAgents } from './constructs/service-agents.ts';
import { sourceArchive, sourceBucket } from './constructs/source-bucket.ts';
import { stagingBucket } from './constructs/staging-bucket.ts';
import { warehouseDataset } from './constructs/warehouse-dataset.ts';
import { resourceNames } from './names.ts';

/** Directories prepared by package-function.ts; each becomes a zip uploaded to the source bucket. */
export interface FunctionSources {
  loaderDir: string;
  collectorDir: string;
}

/** One environment: everything from the collector to the dataset. Named `<prefix>-<environment>`. */
export class SluiceStack extends TerraformStack {
  constructor(scope: Construct, config: GcpConfig, sources: FunctionSources) {
    const names = resourceNames(config);
    super(scope, names.stack);
    new GoogleProvider(this, 'google', { project: config.project, region: config.region });
    if (config.stateBucket) {
      new GcsBackend(this, { bucket: config.stateBucket, prefix: `sluice/${config.environment}` });
    }

    const apis = enableApis(this, config);
    const agents = serviceAgents(this, { config, dependsOn: apis });
    const raw = rawBucket(this, { config, name: names.rawBucket, dependsOn: apis });
    const staging = stagingBucket(this, { config, name: names.stagingBucket, dependsOn: apis });
    const source = sourceBucket(this, { config, name: names.sourceBucket, dependsOn: apis });
    const dataset = warehouseDataset(this, {
      config,
      datasetId: names.dataset,
      location: config.region,
      dependsOn: apis,
    });
    const events = eventsTopic(this, {
      config,
      names,
      rawBucket: raw,
      pubsubAgent: agents.pubsub,
      dependsOn: apis,
    });
    const build = functionBuild(this, { config, names, sourceBucket: source, dependsOn: apis });

    loaderFunction(this, {
      config,
      names,
      rawBucket: raw,
      stagingBucket: staging,
      dataset,
      source: sourceArchive(this, 'loader', { bucket: source, dir: sources.loaderDir }),
      build,
      storageAgent: agents.storage,
      dependsOn: apis,
    });
    const collector = collectorService(this, {
      config,
      names,
      topic: events.topic,
      source: sourceArchive(this, 'collector', { bucket: source, dir: sources.collectorDir }),
      build,
      dependsOn: apis,
    });

    new TerraformOutput(this, 'collector_url', {
      value: collector.url,
      description: 'Point the SDK here (apiHost / host)',
    });
    new TerraformOutput(this, 'dataset', { value: `${config.project}.${dataset.datasetId}` });
    new TerraformOutput(this, 'raw_bucket', { value: raw.name });
    new TerraformOutput(this, 'topic', { value: events.topic.id });
  }
}
