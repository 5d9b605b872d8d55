// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are Terraform interpolation tokens
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REQUIRED_APIS } from './constructs/apis.ts';
import { synthStacks, type TerraformJson, testConfig } from './synth-fixture.ts';

const prod = testConfig('prod');
const ci = testConfig('ci', { windowSeconds: 60, coldAfterDays: 0, retentionDays: 7, forceDestroy: true });
const pub = testConfig('pub', { collectorAccess: 'all-users' });
const { stacks } = synthStacks([prod, ci, pub]);
const prodJson = stacks.get('sluice-prod')!;
const ciJson = stacks.get('sluice-ci')!;
const pubJson = stacks.get('sluice-pub')!;
const projectJson = stacks.get('sluice-project-sluice-test-project')!;

const resource = (tf: TerraformJson, type: string, id: string): Record<string, unknown> => {
  const r = tf.resource[type]?.[id];
  if (!r) throw new Error(`missing ${type}.${id}`);
  return r;
};

/** Every IAM grant in the stack as `type target role member`. */
function iamBindings(tf: TerraformJson): string[] {
  const out: string[] = [];
  for (const [type, byId] of Object.entries(tf.resource)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const r of Object.values(byId)) {
      const target =
        r.bucket ??
        r.dataset_id ??
        r.topic ??
        r.subscription ??
        r.secret_id ??
        r.repository ??
        r.name ??
        r.project;
      out.push(`${type} ${String(target)} ${String(r.role)} ${String(r.member)}`);
    }
  }
  return out.sort();
}

/** Every `role` value anywhere in the JSON. */
function allRoles(value: unknown, acc: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) allRoles(v, acc);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'role' && typeof v === 'string') acc.push(v);
      else allRoles(v, acc);
    }
  }
  return acc;
}

const tooBroad = (role: string): boolean =>
  role === 'roles/owner' || role === 'roles/editor' || /\.admin$|Admin$/.test(role);

describe('events topic and Cloud Storage subscription', () => {
  it('writes text-mode window files under raw/YYYY-MM-DD/ with the configured window and an ack deadline >= it', () => {
    const sub = resource(prodJson, 'google_pubsub_subscription', 'raw-files-subscription');
    const gcs = sub.cloud_storage_config as Record<string, unknown>;
    expect(gcs).toEqual({
      bucket: '${google_storage_bucket.raw-bucket.name}',
      filename_prefix: 'raw/',
      filename_datetime_format: 'YYYY-MM-DD/hh_mm_ssZ',
      filename_suffix: '.ndjson',
      max_duration: '600s',
      max_bytes: 1073741824,
    });
    expect(gcs).not.toHaveProperty('avro_config'); // text mode: data + "\n", no attributes
    expect(sub.ack_deadline_seconds).toBe(600);
    expect(sub.expiration_policy).toEqual({ ttl: '' });
    expect(sub.topic).toBe('${google_pubsub_topic.events-topic.id}');
    const ciSub = resource(ciJson, 'google_pubsub_subscription', 'raw-files-subscription');
    expect((ciSub.cloud_storage_config as Record<string, unknown>).max_duration).toBe('60s');
    expect(ciSub.ack_deadline_seconds).toBeGreaterThanOrEqual(60);
  });

  it('creates the subscription only after the Pub/Sub agent can write the bucket', () => {
    const sub = resource(prodJson, 'google_pubsub_subscription', 'raw-files-subscription');
    expect(sub.depends_on).toEqual([
      'google_storage_bucket_iam_member.raw-bucket-pubsub-agent-objectCreator',
      'google_storage_bucket_iam_member.raw-bucket-pubsub-agent-legacyBucketReader',
      'google_pubsub_topic_iam_member.dead-letter-pubsub-agent-publisher',
    ]);
  });
});

describe('buckets and dataset', () => {
  it('raw bucket: uniform access, public access prevented, COLDLINE then delete after retention', () => {
    const raw = resource(prodJson, 'google_storage_bucket', 'raw-bucket');
    expect(raw).toMatchObject({
      name: 'sluice-test-project-sluice-raw-prod',
      location: 'us-central1',
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      force_destroy: false,
    });
    expect(raw.lifecycle_rule).toEqual([
      {
        action: { type: 'SetStorageClass', storage_class: 'COLDLINE' },
        condition: { age: 30, matches_storage_class: ['STANDARD'] },
      },
      { action: { type: 'Delete' }, condition: { age: 365 } },
    ]);
    // ci deletes at 7 days: no Coldline (90-day minimum) before that.
    const ciRaw = resource(ciJson, 'google_storage_bucket', 'raw-bucket');
    expect(ciRaw.lifecycle_rule).toEqual([{ action: { type: 'Delete' }, condition: { age: 7 } }]);
  });

  it('retention 0 keeps raw files forever (no Delete rule)', () => {
    const { stacks: s } = synthStacks([testConfig('keep', { retentionDays: 0 })]);
    const raw = resource(s.get('sluice-keep')!, 'google_storage_bucket', 'raw-bucket');
    expect((raw.lifecycle_rule as { action: { type: string } }[]).map((r) => r.action.type)).toEqual([
      'SetStorageClass',
    ]);
  });

  it('staging bucket is separate (the trigger fires for every object of the raw bucket) and cleaned by lifecycle', () => {
    const staging = resource(prodJson, 'google_storage_bucket', 'staging-bucket');
    expect(staging).toMatchObject({ location: 'us-central1', public_access_prevention: 'enforced' });
    expect(staging.lifecycle_rule).toEqual([{ action: { type: 'Delete' }, condition: { age: 1 } }]);
    expect(staging.name).not.toBe(resource(prodJson, 'google_storage_bucket', 'raw-bucket').name);
  });

  it('everything lives in one location: buckets, dataset, functions and the trigger', () => {
    for (const tf of [prodJson]) {
      for (const b of Object.values(tf.resource.google_storage_bucket ?? {}))
        expect(b.location).toBe('us-central1');
      expect(resource(tf, 'google_bigquery_dataset', 'warehouse-dataset').location).toBe('us-central1');
      for (const f of Object.values(tf.resource.google_cloudfunctions2_function ?? {})) {
        expect(f.location).toBe('us-central1');
      }
      const trigger = resource(tf, 'google_cloudfunctions2_function', 'loader-function')
        .event_trigger as Record<string, unknown>;
      expect(trigger.trigger_region).toBe('us-central1');
    }
    const eu = synthStacks([testConfig('eu', { region: 'europe-west1' })]).stacks.get('sluice-eu')!;
    expect(resource(eu, 'google_bigquery_dataset', 'warehouse-dataset').location).toBe('europe-west1');
    expect(resource(eu, 'google_storage_bucket', 'raw-bucket').location).toBe('europe-west1');
  });

  it('dataset is named per environment and keeps its tables on destroy unless forceDestroy', () => {
    expect(resource(prodJson, 'google_bigquery_dataset', 'warehouse-dataset')).toMatchObject({
      dataset_id: 'sluice_prod',
      delete_contents_on_destroy: false,
    });
    expect(resource(ciJson, 'google_bigquery_dataset', 'warehouse-dataset')).toMatchObject({
      dataset_id: 'sluice_ci',
      delete_contents_on_destroy: true,
    });
  });
});

describe('functions', () => {
  it('loader: finalized trigger on the raw bucket with retries on, sized for a window file', () => {
    const fn = resource(prodJson, 'google_cloudfunctions2_function', 'loader-function');
    expect(fn.event_trigger).toEqual({
      event_type: 'google.cloud.storage.object.v1.finalized',
      retry_policy: 'RETRY_POLICY_RETRY',
      trigger_region: 'us-central1',
      service_account_email: '${google_service_account.trigger-account.email}',
      event_filters: [{ attribute: 'bucket', value: '${google_storage_bucket.raw-bucket.name}' }],
    });
    expect(fn.build_config).toMatchObject({
      entry_point: 'loadEvents',
      runtime: 'nodejs22',
      service_account: '${google_service_account.build-account.id}',
      source: {
        storage_source: {
          bucket: '${google_storage_bucket_object.loader-zip.bucket}',
          object: '${google_storage_bucket_object.loader-zip.name}',
        },
      },
    });
    expect(fn.service_config).toMatchObject({
      available_memory: '1Gi',
      timeout_seconds: 540,
      max_instance_request_concurrency: 1,
      ingress_settings: 'ALLOW_INTERNAL_ONLY',
      service_account_email: '${google_service_account.loader-account.email}',
      environment_variables: {
        SLUICE_DESTINATION: 'bigquery',
        SLUICE_GCP_PROJECT: 'sluice-test-project',
        SLUICE_BQ_DATASET: '${google_bigquery_dataset.warehouse-dataset.dataset_id}',
        SLUICE_BQ_LOCATION: 'us-central1',
        SLUICE_RAW_BUCKET: '${google_storage_bucket.raw-bucket.name}',
        SLUICE_STAGING_BUCKET: '${google_storage_bucket.staging-bucket.name}',
        NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=128',
      },
    });
  });

  it('collector (default invoker-iam-disabled): a Cloud Run service with the invoker check off, built from the zip', () => {
    expect(prodJson.resource.google_cloudfunctions2_function?.['collector-function']).toBeUndefined();
    const svc = resource(prodJson, 'google_cloud_run_v2_service', 'collector-service');
    expect(svc).toMatchObject({ invoker_iam_disabled: true, ingress: 'INGRESS_TRAFFIC_ALL' });
    const template = svc.template as { service_account: string; containers: Record<string, unknown>[] };
    expect(template.service_account).toBe('${google_service_account.collector-account.email}');
    const [container] = template.containers;
    expect(container?.image).toMatch(
      /^us-central1-docker\.pkg\.dev\/sluice-test-project\/sluice-functions-prod\/collector:[0-9a-f]{32}$/,
    );
    expect(container?.env).toContainEqual({
      name: 'SLUICE_WRITE_KEYS',
      value_source: { secret_key_ref: { secret: 'sluice-write-keys-prod', version: 'latest' } },
    });
    expect(container?.env).toContainEqual({
      name: 'SLUICE_PUBSUB_TOPIC',
      value: '${google_pubsub_topic.events-topic.name}',
    });
    expect(JSON.stringify(container?.env)).not.toMatch(/"WRITE_KEY[^"]*","value"/);
    // build_config alone does not build (hashicorp/terraform-provider-google#22263): a terraform_data builds the
    // image tag the service runs, and the service waits for it.
    const build = resource(prodJson, 'terraform_data', 'collector-image-build');
    const command = (build.provisioner as { 'local-exec': { command: string } }[])[0]?.['local-exec'].command;
    expect(command).toContain('gcloud builds submit gs://');
    expect(command).toContain(`--pack=image=${String(container?.image)}`);
    expect(command).toContain('--service-account=${google_service_account.build-account.id}');
    expect(svc.depends_on).toContain('terraform_data.collector-image-build');
    expect(prodJson.output.collector_url?.value).toBe('${google_cloud_run_v2_service.collector-service.uri}');
  });

  it('collector (all-users): public 2nd-gen function, allUsers may invoke it', () => {
    const fn = resource(pubJson, 'google_cloudfunctions2_function', 'collector-function');
    expect(fn).not.toHaveProperty('event_trigger');
    expect(fn.build_config).toMatchObject({ entry_point: 'collect' });
    const svc = fn.service_config as Record<string, unknown>;
    expect(svc).toMatchObject({
      ingress_settings: 'ALLOW_ALL',
      service_account_email: '${google_service_account.collector-account.email}',
      environment_variables: {
        SLUICE_TRANSPORT: 'pubsub',
        SLUICE_PUBSUB_PROJECT: 'sluice-test-project',
        SLUICE_PUBSUB_TOPIC: '${google_pubsub_topic.events-topic.name}',
      },
      secret_environment_variables: [
        {
          key: 'SLUICE_WRITE_KEYS',
          project_id: 'sluice-test-project',
          secret: 'sluice-write-keys-pub',
          version: 'latest',
        },
      ],
    });
    expect(JSON.stringify(svc.environment_variables)).not.toMatch(/WRITE_KEY/);
    expect(
      resource(pubJson, 'google_cloud_run_v2_service_iam_member', 'collector-public-invoker'),
    ).toMatchObject({
      name: '${google_cloudfunctions2_function.collector-function.name}',
      role: 'roles/run.invoker',
      member: 'allUsers',
    });
    expect(pubJson.resource.google_cloud_run_v2_service).toBeUndefined();
    expect(pubJson.output.collector_url?.value).toBe(
      '${google_cloudfunctions2_function.collector-function.url}',
    );
  });

  it('source zips are TerraformAssets uploaded to the source bucket, named by content hash', () => {
    for (const id of ['loader-zip', 'collector-zip']) {
      const obj = resource(prodJson, 'google_storage_bucket_object', id);
      expect(obj.bucket).toBe('${google_storage_bucket.source-bucket.name}');
      expect(obj.source).toMatch(/^assets\/[a-z]+-asset\/[0-9A-F]+\/archive\.zip$/);
      expect(obj.name).toMatch(/^[a-z]+-[0-9A-F]+\.zip$/);
    }
  });

  it('enables every API the pipeline needs, without disabling them on destroy', () => {
    expect(prodJson.resource.google_project_service).toBeUndefined(); // the project stack enables them
    const services = Object.values(projectJson.resource.google_project_service ?? {});
    expect(services.map((s) => s.service).sort()).toEqual([...REQUIRED_APIS].sort());
    for (const name of [
      'pubsub',
      'storage',
      'cloudfunctions',
      'run',
      'eventarc',
      'cloudbuild',
      'artifactregistry',
      'bigquery',
      'secretmanager',
      'cloudresourcemanager',
      'monitoring',
      'logging',
    ]) {
      expect(REQUIRED_APIS).toContain(`${name}.googleapis.com`);
    }
    for (const s of services) expect(s.disable_on_destroy).toBe(false);
  });

  it('outputs the collector URL, dataset, raw bucket and topic', () => {
    expect(Object.keys(prodJson.output).sort()).toEqual([
      'collector_url',
      'dataset',
      'dead_letter_subscription',
      'identity_update_job',
      'loader',
      'privacy_bucket',
      'raw_bucket',
      'topic',
    ]);
  });
});

describe('IAM: least privilege', () => {
  it('grants exactly the listed roles to exactly the listed members', () => {
    const pubsubAgent =
      'serviceAccount:${data.terraform_remote_state.cross-stack-reference-input-sluice-project-sluice-test-project.outputs.cross-stack-output-google_project_service_identitypubsub-agentemail}';
    const sa = (id: string) => `\${google_service_account.${id}.member}`;
    const raw = '${google_storage_bucket.raw-bucket.name}';
    expect(iamBindings(prodJson)).toEqual(
      [
        `google_storage_bucket_iam_member ${raw} roles/storage.objectCreator ${pubsubAgent}`,
        `google_storage_bucket_iam_member ${raw} roles/storage.legacyBucketReader ${pubsubAgent}`,
        `google_pubsub_topic_iam_member \${google_pubsub_topic.dead-letter-topic.name} roles/pubsub.publisher ${pubsubAgent}`,
        `google_pubsub_subscription_iam_member \${google_pubsub_subscription.raw-files-subscription.name} roles/pubsub.subscriber ${pubsubAgent}`,
        `google_storage_bucket_iam_member ${raw} roles/storage.objectViewer ${sa('loader-account')}`,
        `google_storage_bucket_iam_member \${google_storage_bucket.staging-bucket.name} roles/storage.objectUser ${sa('loader-account')}`,
        // The suppression list (docs/privacy.md): read by the loader and the collector, nothing else for the latter.
        `google_storage_bucket_iam_member \${google_storage_bucket.privacy-bucket.name} roles/storage.objectViewer ${sa('loader-account')}`,
        `google_storage_bucket_iam_member \${google_storage_bucket.privacy-bucket.name} roles/storage.objectViewer ${sa('collector-account')}`,
        `google_bigquery_dataset_iam_member \${google_bigquery_dataset.warehouse-dataset.dataset_id} roles/bigquery.dataEditor ${sa('loader-account')}`,
        `google_project_iam_member sluice-test-project roles/bigquery.jobUser ${sa('loader-account')}`,
        `google_project_iam_member sluice-test-project roles/eventarc.eventReceiver ${sa('trigger-account')}`,
        `google_cloud_run_v2_service_iam_member \${google_cloudfunctions2_function.loader-function.name} roles/run.invoker ${sa('trigger-account')}`,
        `google_pubsub_topic_iam_member \${google_pubsub_topic.events-topic.name} roles/pubsub.publisher ${sa('collector-account')}`,
        `google_pubsub_topic_iam_member \${google_pubsub_topic.events-topic.name} roles/pubsub.viewer ${sa('collector-account')}`,
        `google_secret_manager_secret_iam_member sluice-write-keys-prod roles/secretmanager.secretAccessor ${sa('collector-account')}`,
        `google_project_iam_member sluice-test-project roles/logging.logWriter ${sa('build-account')}`,
        `google_project_iam_member sluice-test-project roles/storage.objectViewer ${sa('build-account')}`,
        `google_artifact_registry_repository_iam_member \${google_artifact_registry_repository.functions-repository.name} roles/artifactregistry.writer ${sa('build-account')}`,
        `google_storage_bucket_iam_member \${google_storage_bucket.source-bucket.name} roles/storage.objectViewer ${sa('build-account')}`,
        `google_storage_bucket_iam_member \${google_storage_bucket.source-bucket.name} roles/storage.objectCreator ${sa('build-account')}`,
        // The scheduled identity update: its function's account and the scheduler's invoker account, nothing else.
        `google_bigquery_dataset_iam_member \${google_bigquery_dataset.warehouse-dataset.dataset_id} roles/bigquery.dataEditor ${sa('identity-account')}`,
        `google_project_iam_member sluice-test-project roles/bigquery.jobUser ${sa('identity-account')}`,
        `google_storage_bucket_iam_member \${google_storage_bucket.staging-bucket.name} roles/storage.objectUser ${sa('identity-account')}`,
        `google_cloud_run_v2_service_iam_member \${google_cloudfunctions2_function.identity-function.name} roles/run.invoker ${sa('scheduler-account')}`,
      ].sort(),
    );
    expect(iamBindings(projectJson)).toEqual(
      [
        'google_project_iam_member sluice-test-project roles/pubsub.publisher serviceAccount:${data.google_storage_project_service_account.storage-agent.email_address}',
        'google_project_iam_member sluice-test-project roles/eventarc.serviceAgent ${google_project_service_identity.eventarc-agent.member}',
      ].sort(),
    );
  });

  it('uses no owner, editor or *.admin role anywhere, and no authoritative IAM resources', () => {
    for (const tf of [prodJson, ciJson, pubJson, projectJson]) {
      const roles = allRoles(tf);
      expect(roles.length).toBeGreaterThan(tf === projectJson ? 1 : 10);
      expect(roles.filter(tooBroad)).toEqual([]);
      const types = Object.keys(tf.resource);
      expect(types.filter((t) => t.endsWith('_iam_policy') || t.endsWith('_iam_binding'))).toEqual([]);
    }
  });

  it('the broad-role check itself catches owner, editor and admin roles', () => {
    expect(
      [
        'roles/owner',
        'roles/editor',
        'roles/storage.admin',
        'roles/bigquery.admin',
        'roles/pubsub.admin',
      ].every(tooBroad),
    ).toBe(true);
    expect(allRoles({ a: [{ role: 'roles/storage.admin' }] }).filter(tooBroad)).toEqual([
      'roles/storage.admin',
    ]);
    expect(tooBroad('roles/bigquery.dataEditor')).toBe(false);
  });
});

describe('environments', () => {
  const namesOf = (tf: TerraformJson): string[] => {
    const out: string[] = [];
    for (const [type, byId] of Object.entries(tf.resource)) {
      if (type === 'google_storage_bucket_object') continue; // objects inside the environment's own bucket
      for (const r of Object.values(byId)) {
        for (const key of ['name', 'dataset_id', 'account_id', 'repository_id']) {
          const v = r[key];
          if (typeof v === 'string' && !v.includes('${')) out.push(v);
        }
      }
    }
    return out;
  };

  it('suffixes every created name with the environment, so ci never touches prod', () => {
    const prodNames = namesOf(prodJson);
    const ciNames = namesOf(ciJson);
    expect(prodNames.length).toBeGreaterThanOrEqual(13);
    for (const n of prodNames) expect(n).toMatch(/[-_]prod$/);
    for (const n of ciNames) expect(n).toMatch(/[-_]ci$/);
    expect(prodNames.filter((n) => ciNames.includes(n))).toEqual([]);
  });
});

describe('snapshots', () => {
  // The top-level "//" holds cdktf's version metadata; asset hashes change with the packaged code; the local
  // backend's state path is absolute, so the checkout's location is replaced too.
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const normalize = (tf: TerraformJson): string => {
    const { '//': _metadata, ...rest } = tf as TerraformJson & { '//'?: unknown };
    return JSON.stringify(rest, null, 2)
      .replaceAll(repoRoot, '<repo>/')
      .replace(/[0-9A-F]{32}/g, '<asset-hash>');
  };

  it.each([
    ['sluice-prod', prodJson],
    ['sluice-ci', ciJson],
    ['sluice-project-sluice-test-project', projectJson],
  ])('%s', (_name, tf) => {
    expect(normalize(tf)).toMatchSnapshot();
  });
});
