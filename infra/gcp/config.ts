import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nameProblems, resourceNames } from './names.ts';

/**
 * One typed config per environment, read from `environments/<name>.json` (the file name is the environment name).
 * Every resource name and the dataset carry the environment name, so `ci` or a preview never touches `prod`.
 */
export interface GcpConfig {
  /** Environment name: suffixes every resource and the dataset. From the file name. */
  environment: string;
  /** GCP project id the stack deploys into. */
  project: string;
  /** Region of the bucket, the functions, the trigger and the dataset (one location for all). */
  region: string;
  /** Leads every resource name. */
  namePrefix: string;
  /** Cloud Storage subscription window (`max_duration`), 60–600 s. Also the ack deadline. */
  windowSeconds: number;
  /** Cloud Storage subscription `max_bytes`: a window file is cut early when it reaches this size. */
  maxFileBytes: number;
  /**
   * Raw window files move to COLDLINE after this many days (0 = never). Coldline bills 90 days minimum, so a
   * transition needs `retentionDays - coldAfterDays >= 90` (or no deletion at all).
   */
  coldAfterDays: number;
  /** Raw window files are deleted after this many days (0 = never). Must exceed `coldAfterDays` when set. */
  retentionDays: number;
  /** Staging objects (BigQuery load inputs) are deleted after this many days. */
  stagingRetentionDays: number;
  /** Secret Manager secret id (in `project`) holding `SLUICE_WRITE_KEYS` (`key1=sourceA,key2=sourceB`). */
  writeKeysSecretId: string;
  /** Cloud Run functions runtime for both functions. */
  nodeRuntime: string;
  loader: { memory: string; cpu: string; timeoutSeconds: number; maxInstances: number };
  collector: { memory: string; cpu: string; minInstances: number; maxInstances: number; concurrency: number };
  /**
   * The scheduled identity update (docs/deploy.md, "Identity graph"): a Cloud Scheduler job (`schedule`, unix-cron,
   * UTC; hourly by default) calls an HTTP function that folds the links loaded since the last run into the map.
   */
  identityUpdate: { schedule: string; memory: string; timeoutSeconds: number };
  /** GCS bucket (created beforehand) for Terraform state, under `sluice/<environment>`; unset = local state file. */
  stateBucket?: string;
  /** Lets `cdktf destroy` delete non-empty buckets and the dataset with its tables. Keep false in prod. */
  forceDestroy: boolean;
  /**
   * How the public collector is reachable: `invoker-iam-disabled` (a Cloud Run service with the invoker check off;
   * blocked by `run.managed.requireInvokerIam`) or `all-users` (`allUsers` gets `run.invoker`; blocked by
   * `iam.allowedPolicyMemberDomains`). `npm run preflight -w infra -- <env>` says which one the org policy allows.
   */
  collectorAccess: CollectorAccess;
  /** Email address the alert policies notify (a Cloud Monitoring email channel). */
  alertEmail: string;
  /** Alert when failed events exceed this share of loaded events over an hour (0–1). */
  failedEventsAlertRatio: number;
  /**
   * Grant the Pub/Sub service agent `roles/iam.serviceAccountTokenCreator` (projects whose agent was created on
   * or before 2021-04-08 need it for Eventarc's push delivery). Project-wide: set it in any one environment.
   */
  pubsubAgentTokenCreator: boolean;
}

export const COLLECTOR_ACCESS = ['invoker-iam-disabled', 'all-users'] as const;
export type CollectorAccess = (typeof COLLECTOR_ACCESS)[number];

/** Coldline's minimum storage duration: deleting or rewriting earlier bills the remainder. */
export const COLDLINE_MINIMUM_DAYS = 90;

/** What an environment file may set; the environment name comes from the file name. */
export type EnvironmentFile = Partial<
  Omit<GcpConfig, 'environment' | 'loader' | 'collector' | 'identityUpdate'>
> & {
  loader?: Partial<GcpConfig['loader']>;
  identityUpdate?: Partial<GcpConfig['identityUpdate']>;
  collector?: Partial<GcpConfig['collector']>;
};

export const DEFAULTS = {
  region: 'us-central1',
  namePrefix: 'sluice',
  windowSeconds: 600,
  maxFileBytes: 1024 * 1024 * 1024,
  coldAfterDays: 30,
  retentionDays: 365,
  stagingRetentionDays: 1,
  nodeRuntime: 'nodejs22',
  loader: { memory: '1Gi', cpu: '1', timeoutSeconds: 540, maxInstances: 10 },
  collector: { memory: '512Mi', cpu: '1', minInstances: 0, maxInstances: 20, concurrency: 80 },
  identityUpdate: { schedule: '0 * * * *', memory: '1Gi', timeoutSeconds: 540 },
  forceDestroy: false,
  collectorAccess: 'invoker-iam-disabled',
  failedEventsAlertRatio: 0.01,
  pubsubAgentTokenCreator: false,
} as const satisfies Omit<GcpConfig, 'environment' | 'project' | 'writeKeysSecretId' | 'alertEmail'>;

export const WINDOW_MIN_SECONDS = 60;
export const WINDOW_MAX_SECONDS = 600;

export const DEFAULT_ENVIRONMENTS_DIR = fileURLToPath(new URL('./environments/', import.meta.url));

export class GcpConfigError extends Error {
  readonly code = 'SLUICE_ERR_INFRA_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid GCP environment config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'GcpConfigError';
  }
}

const ENV_NAME = /^[a-z][a-z0-9]{0,9}$/;
const PREFIX = /^[a-z][a-z0-9-]{0,9}$/;
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]$/;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MEMORY = /^[0-9]+(Mi|Gi)$/;
const RUNTIME = /^nodejs[0-9]{2}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const KNOWN_KEYS = new Set([
  'project',
  'region',
  'namePrefix',
  'windowSeconds',
  'maxFileBytes',
  'coldAfterDays',
  'retentionDays',
  'stagingRetentionDays',
  'writeKeysSecretId',
  'nodeRuntime',
  'loader',
  'collector',
  'identityUpdate',
  'forceDestroy',
  'stateBucket',
  'collectorAccess',
  'alertEmail',
  'failedEventsAlertRatio',
  'pubsubAgentTokenCreator',
  '$comment',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates one environment file's parsed JSON. Returns the config or every problem found. */
export function parseEnvironment(
  environment: string,
  raw: unknown,
): { config: GcpConfig; problems: [] } | { config?: undefined; problems: string[] } {
  const problems: string[] = [];
  const at = (field: string): string => `${environment}.${field}`;
  if (!ENV_NAME.test(environment)) {
    problems.push(
      `environment name "${environment}" must match ${ENV_NAME} (it suffixes every resource name)`,
    );
  }
  if (!isRecord(raw)) return { problems: [...problems, `${environment}: the file must hold a JSON object`] };
  for (const key of Object.keys(raw)) if (!KNOWN_KEYS.has(key)) problems.push(`${at(key)} is not a setting`);

  const str = (field: string, pattern: RegExp, fallback?: string): string => {
    const v = raw[field] ?? fallback;
    if (typeof v !== 'string' || !pattern.test(v)) {
      problems.push(
        `${at(field)} must be a string matching ${pattern}${v === undefined ? ' (required)' : ''}`,
      );
      return '';
    }
    return v;
  };
  const int = (obj: Record<string, unknown>, field: string, fallback: number, min: number, max: number) => {
    const v = obj[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${at(field)} must be an integer in [${min}, ${max}]`);
      return fallback;
    }
    return v;
  };
  const sub = (field: 'loader' | 'collector' | 'identityUpdate'): Record<string, unknown> => {
    const v = raw[field] ?? {};
    if (!isRecord(v)) {
      problems.push(`${at(field)} must be an object`);
      return {};
    }
    return v;
  };
  const subStr = (obj: Record<string, unknown>, field: string, fallback: string, pattern: RegExp): string => {
    const v = obj[field] ?? fallback;
    if (typeof v !== 'string' || !pattern.test(v)) {
      problems.push(`${at(field)} must be a string matching ${pattern}`);
      return fallback;
    }
    return v;
  };

  const namePrefix = str('namePrefix', PREFIX, DEFAULTS.namePrefix);
  const windowSeconds = int(
    raw,
    'windowSeconds',
    DEFAULTS.windowSeconds,
    WINDOW_MIN_SECONDS,
    WINDOW_MAX_SECONDS,
  );
  const coldAfterDays = int(raw, 'coldAfterDays', DEFAULTS.coldAfterDays, 0, 3650);
  const retentionDays = int(raw, 'retentionDays', DEFAULTS.retentionDays, 0, 36500);
  if (retentionDays !== 0 && coldAfterDays !== 0 && retentionDays - coldAfterDays < COLDLINE_MINIMUM_DAYS) {
    problems.push(
      `${at('coldAfterDays')} (${coldAfterDays}) with retentionDays ${retentionDays}: Coldline bills ${COLDLINE_MINIMUM_DAYS} days minimum, so retentionDays - coldAfterDays must be >= ${COLDLINE_MINIMUM_DAYS} (or set coldAfterDays 0: never move to Coldline)`,
    );
  }
  const collectorAccess = raw.collectorAccess ?? DEFAULTS.collectorAccess;
  if (!COLLECTOR_ACCESS.includes(collectorAccess as CollectorAccess)) {
    problems.push(`${at('collectorAccess')} must be one of ${COLLECTOR_ACCESS.join(', ')}`);
  }
  const ratio = raw.failedEventsAlertRatio ?? DEFAULTS.failedEventsAlertRatio;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    problems.push(`${at('failedEventsAlertRatio')} must be a number in (0, 1]`);
  }
  const tokenCreator = raw.pubsubAgentTokenCreator ?? DEFAULTS.pubsubAgentTokenCreator;
  if (typeof tokenCreator !== 'boolean') problems.push(`${at('pubsubAgentTokenCreator')} must be a boolean`);
  const stateBucket = raw.stateBucket;
  if (
    stateBucket !== undefined &&
    (typeof stateBucket !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(stateBucket))
  ) {
    problems.push(`${at('stateBucket')} must be a bucket name`);
  }
  const forceDestroy = raw.forceDestroy ?? DEFAULTS.forceDestroy;
  if (typeof forceDestroy !== 'boolean') problems.push(`${at('forceDestroy')} must be a boolean`);

  const loaderRaw = sub('loader');
  const collectorRaw = sub('collector');
  const loader = {
    memory: subStr(loaderRaw, 'memory', DEFAULTS.loader.memory, MEMORY),
    cpu: subStr(loaderRaw, 'cpu', DEFAULTS.loader.cpu, /^[0-9.]+$/),
    timeoutSeconds: int(loaderRaw, 'timeoutSeconds', DEFAULTS.loader.timeoutSeconds, 60, 540),
    maxInstances: int(loaderRaw, 'maxInstances', DEFAULTS.loader.maxInstances, 1, 1000),
  };
  const collector = {
    memory: subStr(collectorRaw, 'memory', DEFAULTS.collector.memory, MEMORY),
    cpu: subStr(collectorRaw, 'cpu', DEFAULTS.collector.cpu, /^[0-9.]+$/),
    minInstances: int(collectorRaw, 'minInstances', DEFAULTS.collector.minInstances, 0, 100),
    maxInstances: int(collectorRaw, 'maxInstances', DEFAULTS.collector.maxInstances, 1, 1000),
    concurrency: int(collectorRaw, 'concurrency', DEFAULTS.collector.concurrency, 1, 1000),
  };
  const identityRaw = sub('identityUpdate');
  const identityUpdate = {
    // unix-cron, five fields (https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules)
    schedule: subStr(identityRaw, 'schedule', DEFAULTS.identityUpdate.schedule, /^\S+( \S+){4}$/),
    memory: subStr(identityRaw, 'memory', DEFAULTS.identityUpdate.memory, MEMORY),
    timeoutSeconds: int(identityRaw, 'timeoutSeconds', DEFAULTS.identityUpdate.timeoutSeconds, 60, 1800),
  };
  for (const key of Object.keys(identityRaw))
    if (!(key in identityUpdate)) problems.push(`${at(`identityUpdate.${key}`)} is not a setting`);
  for (const key of Object.keys(loaderRaw))
    if (!(key in loader)) problems.push(`${at(`loader.${key}`)} is not a setting`);
  for (const key of Object.keys(collectorRaw)) {
    if (!(key in collector)) problems.push(`${at(`collector.${key}`)} is not a setting`);
  }

  const config: GcpConfig = {
    environment,
    project: str('project', PROJECT),
    region: str('region', REGION, DEFAULTS.region),
    namePrefix,
    windowSeconds,
    maxFileBytes: int(raw, 'maxFileBytes', DEFAULTS.maxFileBytes, 1024, 10 * 1024 * 1024 * 1024),
    coldAfterDays,
    retentionDays,
    stagingRetentionDays: int(raw, 'stagingRetentionDays', DEFAULTS.stagingRetentionDays, 1, 365),
    writeKeysSecretId: str('writeKeysSecretId', SECRET_ID),
    nodeRuntime: str('nodeRuntime', RUNTIME, DEFAULTS.nodeRuntime),
    loader,
    collector,
    identityUpdate,
    forceDestroy: forceDestroy === true,
    collectorAccess: collectorAccess as CollectorAccess,
    alertEmail: str('alertEmail', EMAIL),
    failedEventsAlertRatio: typeof ratio === 'number' ? ratio : DEFAULTS.failedEventsAlertRatio,
    pubsubAgentTokenCreator: tokenCreator === true,
    ...(typeof stateBucket === 'string' ? { stateBucket } : {}),
  };
  if (config.writeKeysSecretId && !config.writeKeysSecretId.endsWith(environment)) {
    problems.push(
      `${at('writeKeysSecretId')} must end with the environment name (${environment}) so no two environments share keys`,
    );
  }
  if (problems.length === 0)
    problems.push(...nameProblems(resourceNames(config)).map((p) => `${environment}: ${p}`));
  return problems.length === 0 ? { config, problems: [] } : { problems };
}

/**
 * Reads every `environments/<name>.json` once and validates all of them, failing fast with every problem.
 * `SLUICE_GCP_ENVIRONMENTS_DIR` points elsewhere (tests, a private config repo); `SLUICE_GCP_ENVIRONMENTS`
 * (comma list) limits which environments are synthesized.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GcpConfig[] {
  const dir = env.SLUICE_GCP_ENVIRONMENTS_DIR || DEFAULT_ENVIRONMENTS_DIR;
  const only = env.SLUICE_GCP_ENVIRONMENTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const problems: string[] = [];
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    throw new GcpConfigError([`cannot read the environments directory ${dir}`]);
  }
  const names = files.map((f) => f.slice(0, -'.json'.length));
  for (const name of only ?? [])
    if (!names.includes(name)) problems.push(`no environment file ${name}.json in ${dir}`);
  const configs: GcpConfig[] = [];
  for (const name of names) {
    if (only && !only.includes(name)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    } catch (error) {
      problems.push(`${name}.json is not valid JSON: ${(error as Error).message}`);
      continue;
    }
    const parsed = parseEnvironment(name, raw);
    if (parsed.config) configs.push(parsed.config);
    else problems.push(...parsed.problems);
  }
  if (configs.length === 0 && problems.length === 0) problems.push(`no environment files in ${dir}`);
  problems.push(...projectProblems(configs));
  if (problems.length > 0) throw new GcpConfigError(problems);
  return configs;
}

/** Build inputs for the stacks (not per environment). */
export interface ArtifactPaths {
  /** The loader's esbuild output (`npm run build -w functions`); override with `SLUICE_LOADER_BUNDLE_DIR`. */
  loaderBundleDir: string;
}

export function loadArtifactPaths(env: NodeJS.ProcessEnv = process.env): ArtifactPaths {
  return {
    loaderBundleDir:
      env.SLUICE_LOADER_BUNDLE_DIR || fileURLToPath(new URL('../../functions/dist/', import.meta.url)),
  };
}

/**
 * Environments sharing a project share its project stack (`<prefix>-project-<project>`): they must agree on the
 * name prefix (the stack's name) and on the state bucket (where that stack's state lives).
 */
export function projectProblems(configs: readonly GcpConfig[]): string[] {
  const problems: string[] = [];
  const first = new Map<string, GcpConfig>();
  for (const config of configs) {
    const seen = first.get(config.project);
    if (!seen) {
      first.set(config.project, config);
      continue;
    }
    for (const key of ['namePrefix', 'stateBucket'] as const) {
      if (seen[key] !== config[key]) {
        problems.push(
          `${config.environment}.${key} differs from ${seen.environment}.${key}: environments of project ${config.project} share one project stack`,
        );
      }
    }
  }
  return problems;
}

/** The environments grouped by project: one project stack each. */
export function byProject(configs: readonly GcpConfig[]): Map<string, GcpConfig[]> {
  const groups = new Map<string, GcpConfig[]>();
  for (const config of configs) groups.set(config.project, [...(groups.get(config.project) ?? []), config]);
  return groups;
}

/** Settings of `npm run preflight -w infra -- <env>` (preflight-cli.ts). */
export interface PreflightSettings {
  /** Cloud Resource Manager API root for `projects.testIamPermissions` (`SLUICE_PREFLIGHT_CRM_ENDPOINT`). */
  crmEndpoint: string;
  /** The gcloud executable (`SLUICE_PREFLIGHT_GCLOUD`, default `gcloud` on PATH). */
  gcloud: string;
}

export function loadPreflightSettings(env: NodeJS.ProcessEnv = process.env): PreflightSettings {
  return {
    crmEndpoint: (env.SLUICE_PREFLIGHT_CRM_ENDPOINT || 'https://cloudresourcemanager.googleapis.com').replace(
      /\/+$/,
      '',
    ),
    gcloud: env.SLUICE_PREFLIGHT_GCLOUD || 'gcloud',
  };
}
