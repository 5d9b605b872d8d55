// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values are Terraform interpolation tokens
/**
 * Google Cloud's rules, checked over the synthesized Terraform JSON of every stack (project and environments),
 * not over the TypeScript: what a first `cdktf deploy` on a fresh project, and a later `cdktf destroy` of one
 * environment, need to be true. The rules' data (APIs per type, permissions per role) is in gcp-rules-tables.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IDENTITY_ENTRY_POINT } from './constructs/identity-update.ts';
import { ALERTS } from './constructs/monitoring.ts';
import { type Need, TYPE_APIS } from './gcp-rules-tables.ts';
import {
  apiAddress,
  type Body,
  closure,
  covered,
  type Grant,
  grants,
  type Node,
  nodes,
} from './rule-check.ts';
import { synthStacks, type TerraformJson, testConfig } from './synth-fixture.ts';

// Two environments sharing a project (the case of defect 4), and one in another project using the all-users
// collector and the pre-2021 Pub/Sub agent grant.
const configs = [
  testConfig('prod'),
  testConfig('ci', {
    windowSeconds: 60,
    coldAfterDays: 0,
    retentionDays: 7,
    forceDestroy: true,
    identityUpdate: { schedule: '*/15 * * * *', timeoutSeconds: 300 },
  }),
  testConfig('edge', {
    project: 'sluice-edge-project',
    collectorAccess: 'all-users',
    pubsubAgentTokenCreator: true,
    stateBucket: 'acme-tf-state',
  }),
];
const { outdir, stacks } = synthStacks(configs);
const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
  stacks: Record<string, { dependencies: string[] }>;
};
const isProjectStack = (name: string): boolean => name.startsWith('sluice-project-');
const projectStacks = [...stacks.keys()].filter(isProjectStack);
const envStacks = [...stacks.keys()].filter((n) => !isProjectStack(n));
const tfOf = (name: string): TerraformJson => {
  const tf = stacks.get(name);
  if (!tf) throw new Error(`no stack ${name}`);
  return tf;
};
/** The project stack an environment stack depends on (exactly one). */
const projectOf = (env: string): string => {
  const deps = manifest.stacks[env]?.dependencies.filter(isProjectStack) ?? [];
  expect(deps, `${env} depends on exactly one project stack`).toHaveLength(1);
  return deps[0] as string;
};

const apisOf = (node: Node): readonly string[] => {
  const apis = TYPE_APIS[node.type];
  if (!apis)
    throw new Error(`gcp-rules-tables.ts: no API entry for ${node.type} (add it, citing Google's docs)`);
  return node.type === 'google_project_service_identity' ? [String(node.body.service)] : apis;
};

describe('rule: every Google API a resource type needs is enabled in the project stack, and every resource depends on it', () => {
  it('project stacks: each resource and data source depends (transitively) on the enablement of each API it calls', () => {
    for (const name of projectStacks) {
      const tf = tfOf(name);
      for (const [address, node] of nodes(tf)) {
        const deps = closure(tf, address);
        for (const api of apisOf(node)) {
          const enabling = apiAddress(tf, api);
          expect(enabling, `${name}: ${api} (needed by ${address}) is enabled`).toBeDefined();
          expect(deps.has(enabling as string), `${name}: ${address} depends on ${enabling}`).toBe(true);
        }
      }
    }
  });

  it('environment stacks: enable no API themselves, depend on their project stack, which enables every API they call', () => {
    for (const env of envStacks) {
      const tf = tfOf(env);
      expect(tf.resource.google_project_service, env).toBeUndefined();
      const project = tfOf(projectOf(env));
      for (const [address, node] of nodes(tf)) {
        for (const api of apisOf(node)) {
          expect(apiAddress(project, api), `${env}: ${api} (needed by ${address})`).toBeDefined();
        }
      }
    }
  });

  it('the Cloud Resource Manager API is enabled (the classic "has not been used in project" 403 of data google_project)', () => {
    for (const name of projectStacks) {
      const tf = tfOf(name);
      const crm = apiAddress(tf, 'cloudresourcemanager.googleapis.com');
      expect(crm).toBeDefined();
      expect(closure(tf, 'data.google_project.project').has(crm as string)).toBe(true);
    }
  });
});

// Google: "if a service agent hasn't been created yet, you can't grant roles to it"
// (https://cloud.google.com/iam/docs/create-service-agents); provider #14584, #19085, #25294.
describe('rule: every grant to a service agent depends on the resource that creates that agent', () => {
  const AGENT =
    /gcp-sa-|gs-project-accounts|google_storage_project_service_account|google_project_service_identity/;
  const isIam = (type: string): boolean => type.endsWith('_iam_member');

  /** The address creating the agent a member names, in the stack that creates it. */
  function creator(stack: string, member: string): { stack: string; address: string } | undefined {
    const identity = member.match(/\$\{(google_project_service_identity\.[A-Za-z0-9_-]+)\./);
    if (identity?.[1]) return { stack, address: identity[1] };
    const storage = member.match(/\$\{(data\.google_storage_project_service_account\.[A-Za-z0-9_-]+)\./);
    if (storage?.[1]) return { stack, address: storage[1] };
    const remote = member.match(
      /\$\{data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.([A-Za-z0-9_-]+)\}/,
    );
    if (remote?.[1]) {
      const project = projectOf(stack);
      const value = tfOf(project).output[remote[1]]?.value;
      return typeof value === 'string' ? creator(project, value) : undefined;
    }
    return undefined; // a literal agent address: nothing creates it
  }

  it('each agent grant has a creator it is ordered after (same stack) or whose stack it depends on', () => {
    let checked = 0;
    for (const [name, tf] of stacks) {
      for (const [address, node] of nodes(tf)) {
        const member = String(node.body.member ?? '');
        if (!isIam(node.type) || !AGENT.test(member)) continue;
        checked++;
        const made = creator(name, member);
        expect(made, `${name}: ${address} grants to ${member}, which no resource creates`).toBeDefined();
        if (!made) continue;
        if (made.stack === name)
          expect(closure(tf, address).has(made.address), `${name}: ${address}`).toBe(true);
        else expect(manifest.stacks[name]?.dependencies).toContain(made.stack);
        // and the creator waits for its API
        const creatorTf = tfOf(made.stack);
        const creatorNode = nodes(creatorTf).get(made.address);
        for (const api of apisOf(creatorNode as Node)) {
          expect(closure(creatorTf, made.address).has(apiAddress(creatorTf, api) as string)).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(9);
  });

  it("an environment reads the agents from its project stack's own state (the backend that stack writes)", () => {
    for (const env of envStacks) {
      const project = tfOf(projectOf(env));
      const remote = Object.values(tfOf(env).data?.terraform_remote_state ?? {});
      expect(remote).toHaveLength(1);
      const backend = project.terraform?.backend as Record<string, Record<string, unknown>>;
      const [kind, config] = Object.entries(backend)[0] ?? [];
      expect(remote[0]).toMatchObject({ backend: kind, config });
    }
  });

  it('the check refuses a literal agent address (what the stack did before: service-<number>@gcp-sa-pubsub)', () => {
    expect(
      creator('sluice-prod', 'serviceAccount:service-123@gcp-sa-pubsub.iam.gserviceaccount.com'),
    ).toBeUndefined();
  });

  it('the Cloud Storage agent is read only after the Storage API is on and the agents had time to appear (time_sleep)', () => {
    for (const name of projectStacks) {
      const deps = closure(tfOf(name), 'data.google_storage_project_service_account.storage-agent');
      expect(deps).toContain('google_project_service.api-storage');
      expect([...deps].some((d) => d.startsWith('time_sleep.'))).toBe(true);
    }
  });
});

describe('rule: no two stacks declare the same project-level binding; destroying an environment removes nothing project-level', () => {
  const PROJECT_LEVEL = [
    'google_project_iam_member',
    'google_project_service',
    'google_project_service_identity',
  ];
  /** A member as GCP sees it: a stack's own service account by its account id, not by its (stack-local) token. */
  const memberOf = (tf: TerraformJson, member: string): string => {
    const own = member.match(/^\$\{google_service_account\.([A-Za-z0-9_-]+)\.member\}$/)?.[1];
    return own ? `serviceAccount:${String(tf.resource.google_service_account?.[own]?.account_id)}` : member;
  };
  const keyOf = (tf: TerraformJson, type: string, b: Body): string =>
    `${type} ${String(b.project)} ${String(b.role ?? '')} ${memberOf(tf, String(b.member ?? b.service ?? ''))}`;

  it('no project-level key appears in two stacks', () => {
    const owners = new Map<string, string[]>();
    for (const [name, tf] of stacks) {
      for (const type of PROJECT_LEVEL) {
        for (const b of Object.values(tf.resource[type] ?? {})) {
          const key = keyOf(tf, type, b);
          owners.set(key, [...(owners.get(key) ?? []), name]);
        }
      }
    }
    expect(owners.size).toBeGreaterThan(20);
    expect([...owners].filter(([, who]) => who.length > 1)).toEqual([]);
  });

  it('environment stacks hold project-level grants only for their own service accounts, and no APIs or identities', () => {
    for (const env of envStacks) {
      const tf = tfOf(env);
      expect(tf.resource.google_project_service_identity).toBeUndefined();
      const own = new Set(Object.keys(tf.resource.google_service_account ?? {}));
      for (const [id, b] of Object.entries(tf.resource.google_project_iam_member ?? {})) {
        const sa = String(b.member).match(/^\$\{google_service_account\.([A-Za-z0-9_-]+)\.member\}$/)?.[1];
        expect(sa && own.has(sa), `${env}: google_project_iam_member.${id} is for ${String(b.member)}`).toBe(
          true,
        );
      }
    }
  });
});

/**
 * job -> identity -> what it must be able to do, from Google's docs. A job's grants may sit in its environment
 * stack or in the project stack.
 */
function jobs(env: string): { job: string; member: string; needs: Need[] }[] {
  const tf = tfOf(env);
  const project = projectOf(env);
  const sa = (id: string): string => `\${google_service_account.${id}.member}`;
  const bucket = (id: string): string => `\${google_storage_bucket.${id}.name}`;
  const remote = `data.terraform_remote_state.cross-stack-reference-input-${project}.outputs`;
  const pubsubAgent = `serviceAccount:\${${remote}.cross-stack-output-google_project_service_identitypubsub-agentemail}`;
  const number = `\${${remote}.cross-stack-output-datagoogle_projectprojectnumber}`;
  const region = 'us-central1';
  const topic = '${google_pubsub_topic.events-topic.name}';
  const runsAsFunction = tf.resource.google_cloud_run_v2_service === undefined;
  const n = (permission: string, on: string, source: string): Need => ({ permission, on, source });
  const loaderService = '${google_cloudfunctions2_function.loader-function.name}';
  return [
    {
      job: 'loader (runs the load of each raw file)',
      member: sa('loader-account'),
      needs: [
        n('storage.objects.get', `object:${bucket('raw-bucket')}/raw/x.ndjson`, 'storage objects.get'),
        n('storage.objects.get', `object:${bucket('privacy-bucket')}/suppressions.json`, 'docs/privacy.md'),
        n('storage.objects.create', `object:${bucket('staging-bucket')}/s`, 'staging writes'),
        n('storage.objects.delete', `object:${bucket('staging-bucket')}/s`, 'staging cleanup'),
        n(
          'bigquery.jobs.create',
          'project',
          'https://cloud.google.com/bigquery/docs/batch-loading-data#permissions',
        ),
        n(
          'bigquery.tables.create',
          `dataset:\${google_bigquery_dataset.warehouse-dataset.dataset_id}`,
          'load jobs',
        ),
        n(
          'bigquery.tables.updateData',
          `dataset:\${google_bigquery_dataset.warehouse-dataset.dataset_id}`,
          'load jobs',
        ),
      ],
    },
    {
      job: 'identity update (the scheduled function: query and load jobs, its lease object)',
      member: sa('identity-account'),
      needs: [
        n(
          'bigquery.jobs.create',
          'project',
          'https://cloud.google.com/bigquery/docs/running-queries#required_permissions',
        ),
        ...['bigquery.tables.getData', 'bigquery.tables.updateData', 'bigquery.tables.create'].map((p) =>
          n(
            p,
            `dataset:\${google_bigquery_dataset.warehouse-dataset.dataset_id}`,
            'MERGE / DML / views / load jobs',
          ),
        ),
        ...['storage.objects.create', 'storage.objects.get', 'storage.objects.delete'].map((p) =>
          n(
            p,
            `object:${bucket('staging-bucket')}/staging/identity/d/update-state.json`,
            'the lease object (https://cloud.google.com/storage/docs/access-control/iam-json)',
          ),
        ),
      ],
    },
    {
      job: 'identity update scheduler (Cloud Scheduler calls the function with an OIDC token)',
      member: sa('scheduler-account'),
      needs: [
        n(
          'run.routes.invoke',
          'service:${google_cloudfunctions2_function.identity-function.name}',
          'https://cloud.google.com/scheduler/docs/http-target-auth',
        ),
      ],
    },
    {
      job: 'loader trigger (Eventarc delivers object.finalized)',
      member: sa('trigger-account'),
      needs: [
        n('eventarc.events.receiveEvent', 'project', 'https://cloud.google.com/eventarc/docs/access-control'),
        n(
          'run.routes.invoke',
          `service:${loaderService}`,
          'https://cloud.google.com/eventarc/docs/run/roles',
        ),
      ],
    },
    {
      job: 'collector (runs the HTTP API; /readyz calls topic.getMetadata)',
      member: sa('collector-account'),
      needs: [
        n('pubsub.topics.publish', `topic:${topic}`, 'https://cloud.google.com/pubsub/docs/access-control'),
        n('pubsub.topics.get', `topic:${topic}`, 'readiness: topics.get (defect 6)'),
        n(
          'storage.objects.get',
          `object:${bucket('privacy-bucket')}/suppressions.json`,
          'the suppression list (docs/privacy.md; JSON API objects.get needs storage.objects.get)',
        ),
        n(
          'secretmanager.versions.access',
          `secret:sluice-write-keys-${env.slice('sluice-'.length)}`,
          'secret env',
        ),
      ],
    },
    {
      job: 'function builds (Cloud Build as the build account)',
      member: sa('build-account'),
      needs: [
        n(
          'logging.logEntries.create',
          'project',
          'https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts',
        ),
        n(
          'artifactregistry.repositories.uploadArtifacts',
          'repository:${google_artifact_registry_repository.functions-repository.name}',
          'image push',
        ),
        n('storage.objects.get', `object:${bucket('source-bucket')}/loader.zip`, 'source zip'),
        // hashicorp/terraform-provider-google#20571: "Access to bucket gcf-v2-sources-... denied"
        n(
          'storage.objects.get',
          `object:gcf-v2-sources-${number}-${region}/loader/function-source.zip`,
          'GCF copies the zip here',
        ),
        ...(runsAsFunction
          ? []
          : [
              n(
                'storage.objects.create',
                `object:${bucket('source-bucket')}/build-logs/log-1.txt`,
                'gcloud builds submit --gcs-log-dir',
              ),
            ]),
      ],
    },
    {
      job: 'Pub/Sub service agent (writes window files, forwards dead letters)',
      member: pubsubAgent,
      needs: [
        // https://cloud.google.com/pubsub/docs/create-cloudstorage-subscription#assign_roles_cloudstorage
        n(
          'storage.objects.create',
          `object:${bucket('raw-bucket')}/raw/x.ndjson`,
          'Cloud Storage subscriptions',
        ),
        n('storage.buckets.get', `bucket:${bucket('raw-bucket')}`, 'Cloud Storage subscriptions'),
        // https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions
        n(
          'pubsub.topics.publish',
          'topic:${google_pubsub_topic.dead-letter-topic.name}',
          'dead-letter forwarding',
        ),
        n(
          'pubsub.subscriptions.consume',
          'subscription:${google_pubsub_subscription.raw-files-subscription.name}',
          'dead-letter forwarding',
        ),
      ],
    },
  ];
}

describe('rule: every service account that runs or builds something has each permission its job needs, and nothing broad', () => {
  it.each(envStacks)('%s', (env) => {
    const all = [...grants(tfOf(env)), ...grants(tfOf(projectOf(env)))];
    for (const { job, member, needs } of jobs(env)) {
      for (const need of needs) {
        expect(covered(all, member, need), `${job}: ${need.permission} on ${need.on} (${need.source})`).toBe(
          true,
        );
      }
    }
    const broad = all.filter((g) => /^roles\/(owner|editor)$|\.admin$|Admin$/.test(g.role));
    expect(broad).toEqual([]);
  });

  it('the collector reads the suppression list and no other object: not raw files, not staging (privacy)', () => {
    for (const env of envStacks) {
      const all = grants(tfOf(env));
      const collector = '${google_service_account.collector-account.member}';
      const on = (id: string, object: string): Need => ({
        permission: 'storage.objects.get',
        on: `object:\${google_storage_bucket.${id}.name}/${object}`,
        source: '',
      });
      expect(covered(all, collector, on('privacy-bucket', 'suppressions.json'))).toBe(true);
      expect(covered(all, collector, on('raw-bucket', 'raw/x.ndjson'))).toBe(false);
      expect(covered(all, collector, on('staging-bucket', 's'))).toBe(false);
      expect(
        covered(all, collector, {
          permission: 'storage.objects.create',
          on: 'object:${google_storage_bucket.privacy-bucket.name}/suppressions.json',
          source: '',
        }),
      ).toBe(false);
    }
  });

  it('the Cloud Storage agent may publish project-wide (Eventarc topics) — from the project stack', () => {
    for (const name of projectStacks) {
      const storage =
        'serviceAccount:${data.google_storage_project_service_account.storage-agent.email_address}';
      expect(
        covered(grants(tfOf(name)), storage, {
          permission: 'pubsub.topics.publish',
          on: 'topic:eventarc-x',
          source: '',
        }),
      ).toBe(true);
    }
  });

  it('the check itself: an unconditioned bucket grant is not the gcf-v2-sources bucket; a wrong prefix is refused', () => {
    const g: Grant = {
      member: 'm',
      role: 'roles/storage.objectViewer',
      scope: 'project',
      condition: 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-1-us-east1")',
    };
    expect(
      covered([g], 'm', {
        permission: 'storage.objects.get',
        on: 'object:gcf-v2-sources-1-us-central1/a',
        source: '',
      }),
    ).toBe(false);
    expect(
      covered([g], 'm', {
        permission: 'storage.objects.get',
        on: 'object:gcf-v2-sources-1-us-east1/a',
        source: '',
      }),
    ).toBe(true);
    expect(
      covered([{ ...g, scope: 'bucket:other', condition: undefined } as Grant], 'm', {
        permission: 'storage.objects.get',
        on: 'object:gcf-v2-sources-1-us-east1/a',
        source: '',
      }),
    ).toBe(false);
  });

  it('the pre-2021 Pub/Sub agent grant (roles/iam.serviceAccountTokenCreator) is in the project stack when asked for', () => {
    const edge = tfOf(projectOf('sluice-edge'));
    expect(grants(edge)).toContainEqual({
      member: '${google_project_service_identity.pubsub-agent.member}',
      role: 'roles/iam.serviceAccountTokenCreator',
      scope: 'project',
    });
    expect(grants(tfOf(projectOf('sluice-prod'))).map((g) => g.role)).not.toContain(
      'roles/iam.serviceAccountTokenCreator',
    );
  });
});

describe('rule: alert policies and dead-letter wiring exist for every environment', () => {
  it.each(envStacks)('%s', (env) => {
    const tf = tfOf(env);
    const config = configs.find((c) => `sluice-${c.environment}` === env);
    if (!config) throw new Error(env);
    // dead letters: the raw-file subscription forwards to a topic whose subscription keeps a week
    const sub = tf.resource.google_pubsub_subscription?.['raw-files-subscription'];
    expect(sub?.dead_letter_policy).toEqual({
      dead_letter_topic: '${google_pubsub_topic.dead-letter-topic.id}',
      max_delivery_attempts: 10,
    });
    expect(tf.resource.google_pubsub_subscription?.['dead-letter-subscription']).toMatchObject({
      topic: '${google_pubsub_topic.dead-letter-topic.id}',
      message_retention_duration: '604800s',
    });
    // alerts: each one, to the environment's email channel
    expect(Object.values(tf.resource.google_monitoring_notification_channel ?? {})).toEqual([
      expect.objectContaining({ type: 'email', labels: { email_address: config.alertEmail } }),
    ]);
    const policies = tf.resource.google_monitoring_alert_policy ?? {};
    expect(Object.keys(policies).sort()).toEqual(ALERTS.map((a) => `alert-${a}`).sort());
    for (const p of Object.values(policies)) {
      expect(p.notification_channels).toEqual(['${google_monitoring_notification_channel.alert-email.id}']);
    }
    const text = (id: string): string => JSON.stringify(policies[id]);
    expect(text('alert-raw-files-backlog')).toContain(`"threshold_value":${2 * config.windowSeconds}`);
    expect(text('alert-raw-files-backlog')).toContain('subscription/oldest_unacked_message_age');
    expect(text('alert-dead-letters')).toContain(
      `subscription_id=\\"sluice-dead-letter-keep-${config.environment}\\"`,
    );
    expect(text('alert-failed-events-share')).toContain(`> ${config.failedEventsAlertRatio}`);
    expect(text('alert-file-quarantined')).toContain('SLUICE_ERR_LOAD_QUARANTINED');
    expect(text('alert-loader-failing')).toContain('severity>=ERROR');
    // one log-based metric per loader outcome, reading the loader's `file loaded` line
    const metrics = Object.values(tf.resource.google_logging_metric ?? {});
    expect(metrics.map((m) => m.name).sort()).toEqual(
      [
        'events_duplicate',
        'events_failed',
        'events_loaded',
        'files_already_loaded',
        'files_loaded',
        'files_quarantined',
      ]
        .map((m) => `sluice_loader_${m}_${config.environment}`)
        .sort(),
    );
    for (const m of metrics) {
      expect(m.filter).toContain(`resource.labels.service_name="sluice-loader-${config.environment}"`);
      expect(m.filter).toContain(
        'jsonPayload.component="sluice-loader" AND jsonPayload.message="file loaded"',
      );
      // event counts come only from the delivery that committed: a redelivery's line repeats them
      if (String(m.name).startsWith('sluice_loader_events_'))
        expect(m.filter).toContain('jsonPayload.outcome="loaded"');
    }
    // the dashboard: events in, files loaded, failed events, latency per window
    const dashboard = JSON.parse(String(tf.resource.google_monitoring_dashboard?.dashboard?.dashboard_json));
    const titles = (dashboard.mosaicLayout.tiles as { widget: { title: string } }[]).map(
      (t) => t.widget.title,
    );
    for (const want of [/Events in/, /Files loaded/, /failed/, /Latency per window/]) {
      expect(
        titles.some((t) => want.test(t)),
        String(want),
      ).toBe(true);
    }
  });
});

describe('rule: a deployed stack keeps identity_map current (Cloud Scheduler -> HTTP function, least privilege)', () => {
  it.each(envStacks)('%s', (env) => {
    const tf = tfOf(env);
    const config = configs.find((c) => `sluice-${c.environment}` === env);
    if (!config) throw new Error(env);
    const fnUrl = '${google_cloudfunctions2_function.identity-function.url}';
    // The job: the configured unix-cron schedule in UTC, POST to the function with an OIDC token whose audience is
    // the function's URL (https://cloud.google.com/scheduler/docs/http-target-auth#using-the-console: "audience").
    const jobs = Object.values(tf.resource.google_cloud_scheduler_job ?? {});
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      schedule: config.identityUpdate.schedule,
      time_zone: 'Etc/UTC',
      region: config.region,
      http_target: {
        uri: fnUrl,
        http_method: 'POST',
        oidc_token: {
          service_account_email: '${google_service_account.scheduler-account.email}',
          audience: fnUrl,
        },
      },
    });
    // Cloud Scheduler's HTTP attempt deadline is 15 s to 30 min (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#Job.FIELDS.attempt_deadline).
    const deadline = Number(String(jobs[0]?.attempt_deadline).replace(/s$/, ''));
    expect(deadline).toBeGreaterThanOrEqual(15);
    expect(deadline).toBeLessThanOrEqual(1800);
    // The function: the loader's package, the HTTP entry point, no event trigger, one instance, internal ingress
    // (Cloud Scheduler is an internal source: https://cloud.google.com/run/docs/securing/ingress#internal-services).
    const fn = tf.resource.google_cloudfunctions2_function?.['identity-function'] as Body;
    expect(fn).toBeDefined();
    expect(fn.event_trigger).toBeUndefined();
    expect(fn.build_config).toMatchObject({ entry_point: IDENTITY_ENTRY_POINT });
    const loaderFn = tf.resource.google_cloudfunctions2_function?.['loader-function'] as Body;
    expect((fn.build_config as Body).source).toEqual((loaderFn.build_config as Body).source);
    const service = fn.service_config as Body;
    expect(service).toMatchObject({
      max_instance_count: 1,
      ingress_settings: 'ALLOW_INTERNAL_ONLY',
      service_account_email: '${google_service_account.identity-account.email}',
      timeout_seconds: config.identityUpdate.timeoutSeconds,
    });
    const vars = service.environment_variables as Record<string, string>;
    // The lease outlasts a run; the watermark overlap covers the loader's longest load.
    expect(Number(vars.SLUICE_IDENTITY_LEASE_SECONDS)).toBeGreaterThan(config.identityUpdate.timeoutSeconds);
    expect(Number(vars.SLUICE_IDENTITY_OVERLAP_SECONDS)).toBeGreaterThanOrEqual(config.loader.timeoutSeconds);
    // Exactly the grants the two accounts need, nothing else.
    const all = [...grants(tf), ...grants(tfOf(projectOf(env)))];
    const of = (id: string) =>
      all
        .filter((g) => g.member === `\${google_service_account.${id}.member}`)
        .map((g) => `${g.role} ${g.scope}`);
    expect(of('identity-account').sort()).toEqual(
      [
        'roles/bigquery.dataEditor dataset:${google_bigquery_dataset.warehouse-dataset.dataset_id}',
        'roles/bigquery.jobUser project',
        'roles/storage.objectUser bucket:${google_storage_bucket.staging-bucket.name}',
      ].sort(),
    );
    expect(of('scheduler-account')).toEqual([
      'roles/run.invoker service:${google_cloudfunctions2_function.identity-function.name}',
    ]);
  });

  it('the entry point the function names is registered by the loader package (functions-framework http)', () => {
    const index = readFileSync(join(import.meta.dirname, '../../functions/src/index.ts'), 'utf8');
    expect(index).toContain(`http('${IDENTITY_ENTRY_POINT}'`);
  });
});
