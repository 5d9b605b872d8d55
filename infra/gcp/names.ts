import type { GcpConfig } from './config.ts';

/** Every name the stack creates, each carrying the environment so environments never collide. */
export interface ResourceNames {
  stack: string;
  topic: string;
  subscription: string;
  rawBucket: string;
  stagingBucket: string;
  sourceBucket: string;
  /** The suppression list (docs/privacy.md): written by `npm run privacy`, read by the collector and the loader. */
  privacyBucket: string;
  dataset: string;
  loaderFunction: string;
  collectorFunction: string;
  artifactRepository: string;
  loaderAccount: string;
  triggerAccount: string;
  collectorAccount: string;
  buildAccount: string;
  /** The scheduled identity update: its function, its account, the scheduler's invoker account, the job. */
  identityFunction: string;
  identityAccount: string;
  schedulerAccount: string;
  identityJob: string;
  /** Dead-letter topic of the raw-file subscription, and the subscription that keeps what lands there. */
  deadLetterTopic: string;
  deadLetterSubscription: string;
  /** Log-based metrics (one per loader outcome) are named `<metricPrefix><metric><metricSuffix>`. */
  metricPrefix: string;
  metricSuffix: string;
}

/** The one stack per GCP project holding what environments share: APIs, service identities, project grants. */
export const projectStackName = (config: Pick<GcpConfig, 'project' | 'namePrefix'>): string =>
  `${config.namePrefix}-project-${config.project}`;

/** Bucket names are global: they carry the project id too. Dataset ids allow no `-`. */
export function resourceNames(
  config: Pick<GcpConfig, 'project' | 'namePrefix' | 'environment'>,
): ResourceNames {
  const { project, namePrefix: p, environment: e } = config;
  return {
    stack: `${p}-${e}`,
    topic: `${p}-events-${e}`,
    subscription: `${p}-raw-files-${e}`,
    rawBucket: `${project}-${p}-raw-${e}`,
    stagingBucket: `${project}-${p}-staging-${e}`,
    sourceBucket: `${project}-${p}-source-${e}`,
    privacyBucket: `${project}-${p}-privacy-${e}`,
    dataset: `${p}_${e}`.replaceAll('-', '_'),
    loaderFunction: `${p}-loader-${e}`,
    collectorFunction: `${p}-collector-${e}`,
    artifactRepository: `${p}-functions-${e}`,
    loaderAccount: `${p}-loader-${e}`,
    triggerAccount: `${p}-trigger-${e}`,
    collectorAccount: `${p}-collect-${e}`,
    buildAccount: `${p}-build-${e}`,
    identityFunction: `${p}-identity-${e}`,
    identityAccount: `${p}-ident-${e}`,
    schedulerAccount: `${p}-sched-${e}`,
    identityJob: `${p}-identity-update-${e}`,
    deadLetterTopic: `${p}-dead-letter-${e}`,
    deadLetterSubscription: `${p}-dead-letter-keep-${e}`,
    metricPrefix: `${p}_loader_`.replaceAll('-', '_'),
    metricSuffix: `_${e}`,
  };
}

const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Problems with the derived names (length limits), so a bad prefix fails at synth, not at deploy. */
export function nameProblems(names: ResourceNames): string[] {
  const problems: string[] = [];
  for (const key of [
    'loaderAccount',
    'triggerAccount',
    'collectorAccount',
    'buildAccount',
    'identityAccount',
    'schedulerAccount',
  ] as const) {
    if (!ACCOUNT_ID.test(names[key]))
      problems.push(`service account id "${names[key]}" must match ${ACCOUNT_ID}`);
  }
  for (const key of ['rawBucket', 'stagingBucket', 'sourceBucket', 'privacyBucket'] as const) {
    if (!BUCKET.test(names[key]) || names[key].includes('google')) {
      problems.push(`bucket name "${names[key]}" must match ${BUCKET} and not contain "google"`);
    }
  }
  return problems;
}
