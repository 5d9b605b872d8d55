import type { CollectorAccess, GcpConfig } from './config.ts';
import { REQUIRED_APIS } from './constructs/apis.ts';

/**
 * Checks, before a first deploy, what a deploy would otherwise discover halfway: credentials, billing, the Service
 * Usage API, the organisation policies that decide how the collector may be public, the deployer's permissions
 * (`projects.testIamPermissions`), and the write-keys secret. Each finding says what to do. Everything goes through
 * the user's own `gcloud` (and one REST call with its Application Default Credentials token, which is what
 * Terraform will use).
 */

export type Status = 'ok' | 'warn' | 'fail';
export interface Finding {
  check: string;
  status: Status;
  message: string;
  fix?: string;
}

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PreflightDeps {
  gcloud: (args: string[]) => Promise<GcloudResult>;
  /** POST `projects/<id>:testIamPermissions` with the token; returns the granted subset. */
  testIamPermissions: (project: string, token: string, permissions: string[]) => Promise<string[]>;
}

export const PREFLIGHT_FAILED = 'SLUICE_ERR_INFRA_PREFLIGHT_FAILED';

/** What the deployer's identity does during `cdktf deploy` of the project stack and one environment. */
export function deployerPermissions(access: CollectorAccess): string[] {
  return [
    'serviceusage.services.enable',
    'serviceusage.services.get',
    'resourcemanager.projects.get',
    'resourcemanager.projects.getIamPolicy',
    'resourcemanager.projects.setIamPolicy',
    'iam.serviceAccounts.create',
    'iam.serviceAccounts.actAs',
    'storage.buckets.create',
    'storage.buckets.setIamPolicy',
    'storage.objects.create',
    'pubsub.topics.create',
    'pubsub.topics.setIamPolicy',
    'pubsub.subscriptions.create',
    'pubsub.subscriptions.setIamPolicy',
    'bigquery.datasets.create',
    'artifactregistry.repositories.create',
    'artifactregistry.repositories.setIamPolicy',
    'cloudfunctions.functions.create',
    'run.services.create',
    'run.services.setIamPolicy',
    'secretmanager.secrets.setIamPolicy',
    'logging.logMetrics.create',
    'monitoring.alertPolicies.create',
    'monitoring.notificationChannels.create',
    'monitoring.dashboards.create',
    ...(access === 'invoker-iam-disabled' ? ['cloudbuild.builds.create'] : []),
  ];
}

const json = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** An effective Org Policy v2 (`gcloud org-policies describe --effective`): does any rule restrict? */
export function policyRestricts(policy: unknown): boolean {
  const spec = isRecord(policy) && isRecord(policy.spec) ? policy.spec : {};
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  return rules.some(
    (r) =>
      isRecord(r) &&
      r.allowAll !== true &&
      (r.enforce === true ||
        r.denyAll === true ||
        (isRecord(r.values) &&
          (Array.isArray(r.values.allowedValues) || Array.isArray(r.values.deniedValues)))),
  );
}

export async function preflight(config: GcpConfig, deps: PreflightDeps): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (f: Finding): void => void findings.push(f);
  const p = config.project;
  const envFile = `infra/gcp/environments/${config.environment}.json`;

  const token = await deps.gcloud(['auth', 'application-default', 'print-access-token']);
  if (token.code !== 0) {
    add({
      check: 'credentials',
      status: 'fail',
      message: `no Application Default Credentials (Terraform's Google provider uses them): ${firstLine(token.stderr)}`,
      fix: 'gcloud auth application-default login',
    });
    return findings;
  }
  add({ check: 'credentials', status: 'ok', message: 'Application Default Credentials work' });

  const project = await deps.gcloud(['projects', 'describe', p, '--format=json']);
  const described = json(project.stdout);
  if (project.code !== 0 || !isRecord(described)) {
    add({
      check: 'project',
      status: 'fail',
      message: `cannot read project ${p}: ${firstLine(project.stderr)}`,
      fix: `check "project" in ${envFile}, and that your account has a role on it`,
    });
    return findings;
  }
  add({
    check: 'project',
    status: 'ok',
    message: `project ${p} (number ${String(described.projectNumber)})`,
  });

  const billing = await deps.gcloud(['billing', 'projects', 'describe', p, '--format=json']);
  const bill = json(billing.stdout);
  if (billing.code === 0 && isRecord(bill) && bill.billingEnabled === true) {
    add({ check: 'billing', status: 'ok', message: 'billing is enabled' });
  } else if (billing.code === 0) {
    add({
      check: 'billing',
      status: 'fail',
      message: 'billing is not enabled: Cloud Functions, Cloud Build and Cloud Run refuse to be enabled',
      fix: `gcloud billing projects link ${p} --billing-account=ACCOUNT_ID`,
    });
  } else {
    add({
      check: 'billing',
      status: 'warn',
      message: `could not read billing: ${firstLine(billing.stderr)}`,
    });
  }

  const services = await deps.gcloud(['services', 'list', '--enabled', `--project=${p}`, '--format=json']);
  const enabled = new Set(
    (Array.isArray(json(services.stdout)) ? (json(services.stdout) as unknown[]) : [])
      .map((s) => (isRecord(s) && isRecord(s.config) ? String(s.config.name) : ''))
      .filter(Boolean),
  );
  if (services.code !== 0) {
    add({
      check: 'apis',
      status: 'fail',
      message: `cannot list the project's APIs (Terraform enables them through Service Usage): ${firstLine(services.stderr)}`,
      fix: `gcloud services enable serviceusage.googleapis.com --project=${p}`,
    });
  } else {
    const missing = REQUIRED_APIS.filter((api) => !enabled.has(api));
    add({
      check: 'apis',
      status: 'ok',
      message:
        missing.length === 0
          ? 'every API the stacks use is enabled'
          : `the project stack will enable ${missing.length} API(s): ${missing.join(', ')}`,
    });
  }

  await orgPolicies(config, deps, add, envFile);

  const wanted = deployerPermissions(config.collectorAccess);
  try {
    const granted = new Set(await deps.testIamPermissions(p, token.stdout.trim(), wanted));
    const lacking = wanted.filter((perm) => !granted.has(perm));
    add(
      lacking.length === 0
        ? {
            check: 'permissions',
            status: 'ok',
            message: `you hold all ${wanted.length} permissions a deploy uses`,
          }
        : {
            check: 'permissions',
            status: 'fail',
            message: `you lack ${lacking.length} permission(s) a deploy uses: ${lacking.join(', ')}`,
            fix: 'grant your account the roles listed in docs/deploy.md ("Prerequisites"), or roles/owner on a sandbox project',
          },
    );
  } catch (error) {
    add({
      check: 'permissions',
      status: 'warn',
      message: `testIamPermissions failed: ${(error as Error).message}`,
    });
  }

  const secret = config.writeKeysSecretId;
  const describe = await deps.gcloud(['secrets', 'describe', secret, `--project=${p}`, '--format=json']);
  const create = `printf 'CHOOSE_A_LONG_RANDOM_KEY=web' | gcloud secrets create ${secret} --project=${p} --replication-policy=automatic --data-file=-`;
  if (describe.code !== 0) {
    add({
      check: 'secret',
      status: 'fail',
      message: `the write-keys secret ${secret} is missing or unreadable: ${firstLine(describe.stderr)}`,
      fix: enabled.has('secretmanager.googleapis.com')
        ? create
        : `gcloud services enable secretmanager.googleapis.com --project=${p} && ${create}`,
    });
  } else {
    const versions = await deps.gcloud([
      'secrets',
      'versions',
      'list',
      secret,
      `--project=${p}`,
      '--filter=state:ENABLED',
      '--format=json',
    ]);
    const list = json(versions.stdout);
    add(
      versions.code === 0 && Array.isArray(list) && list.length > 0
        ? { check: 'secret', status: 'ok', message: `secret ${secret} has an enabled version` }
        : {
            check: 'secret',
            status: 'fail',
            message: `secret ${secret} has no enabled version: the collector cannot start`,
            fix: `printf 'CHOOSE_A_LONG_RANDOM_KEY=web' | gcloud secrets versions add ${secret} --project=${p} --data-file=-`,
          },
    );
  }
  return findings;
}

/**
 * `iam.allowedPolicyMemberDomains` refuses `allUsers` grants
 * (https://cloud.google.com/resource-manager/docs/organization-policy/restricting-domains);
 * `run.managed.requireInvokerIam` refuses turning the invoker check off
 * (https://cloud.google.com/run/docs/securing/managing-access#invoker_check).
 */
async function orgPolicies(
  config: GcpConfig,
  deps: PreflightDeps,
  add: (f: Finding) => void,
  envFile: string,
): Promise<void> {
  const read = async (constraint: string): Promise<boolean | undefined> => {
    const res = await deps.gcloud([
      'org-policies',
      'describe',
      constraint,
      `--project=${config.project}`,
      '--effective',
      '--format=json',
    ]);
    if (res.code !== 0) return /NOT_FOUND/.test(res.stderr) ? false : undefined;
    return policyRestricts(json(res.stdout));
  };
  const blocked: Record<CollectorAccess, boolean | undefined> = {
    'all-users': await read('iam.allowedPolicyMemberDomains'),
    'invoker-iam-disabled': await read('run.managed.requireInvokerIam'),
  };
  const why: Record<CollectorAccess, string> = {
    'all-users': 'iam.allowedPolicyMemberDomains (domain-restricted sharing) refuses allUsers',
    'invoker-iam-disabled': 'run.managed.requireInvokerIam refuses disabling the invoker check',
  };
  const chosen = config.collectorAccess;
  const other: CollectorAccess = chosen === 'all-users' ? 'invoker-iam-disabled' : 'all-users';
  if (blocked[chosen] === undefined) {
    add({
      check: 'org policy',
      status: 'warn',
      message: `could not read the org policy that governs collectorAccess "${chosen}"`,
      fix: 'ask an organisation policy viewer to run: gcloud org-policies describe ... --effective',
    });
  } else if (!blocked[chosen]) {
    add({
      check: 'org policy',
      status: 'ok',
      message: `collectorAccess "${chosen}" is allowed by the org policy`,
    });
  } else if (blocked[other] === false) {
    add({
      check: 'org policy',
      status: 'fail',
      message: `collectorAccess "${chosen}" will be refused: ${why[chosen]}; "${other}" is allowed`,
      fix: `set "collectorAccess": "${other}" in ${envFile}`,
    });
  } else {
    add({
      check: 'org policy',
      status: 'fail',
      message: `both ways to make the collector public are blocked: ${why['all-users']}; ${why['invoker-iam-disabled']}`,
      fix: `ask an organisation policy administrator for an exception on project ${config.project} for one of the two constraints`,
    });
  }
}

/** The report as printed: one line per finding, its fix indented under it. */
export function formatFindings(findings: readonly Finding[]): string {
  const mark: Record<Status, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  return findings
    .map((f) => `${mark[f.status]} ${f.check}: ${f.message}${f.fix ? `\n     fix: ${f.fix}` : ''}`)
    .join('\n');
}
