#!/usr/bin/env node
// A strict fake of the gcloud commands preflight.ts runs, answering as the real CLI does (JSON shapes of
// `--format=json`, `ERROR: (gcloud.<command>) ...` on stderr with exit 1, exit 2 on unknown commands or flags).
// The scenario is a JSON file named by FAKE_GCLOUD_SCENARIO; every call is appended to FAKE_GCLOUD_LOG.
import { appendFileSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const scenario = JSON.parse(readFileSync(process.env.FAKE_GCLOUD_SCENARIO ?? '', 'utf8'));
if (process.env.FAKE_GCLOUD_LOG) appendFileSync(process.env.FAKE_GCLOUD_LOG, `${JSON.stringify(args)}\n`);

const positional = args.filter((a) => !a.startsWith('--'));
const flags = new Map(
  args
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, ...v] = a.slice(2).split('=');
      return [k, v.join('=')];
    }),
);
const fail = (command, message, code = 1) => {
  process.stderr.write(`ERROR: (gcloud.${command}) ${message}\n`);
  process.exit(code);
};
const out = (value) => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  process.exit(0);
};
const allow = (command, allowed) => {
  for (const k of flags.keys()) if (!allowed.includes(k)) fail(command, `unrecognized arguments: --${k}`, 2);
  if (allowed.includes('format') && flags.get('format') !== 'json') {
    // without --format=json the real CLI prints YAML/tables, which preflight cannot parse
    process.stdout.write('name: not-json\n');
    process.exit(0);
  }
};
const number = scenario.project?.projectNumber ?? '0';
const cmd = positional.slice(0, 3).join(' ');

if (cmd === 'auth application-default print-access-token') {
  allow('auth.application-default.print-access-token', []);
  if (!scenario.token) {
    fail(
      'auth.application-default.print-access-token',
      'Your default credentials were not found. To set up Application Default Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc for more information.',
    );
  }
  process.stdout.write(`${scenario.token}\n`);
  process.exit(0);
}
if (positional[0] === 'projects' && positional[1] === 'describe') {
  allow('projects.describe', ['format']);
  if (!scenario.project || scenario.project.projectId !== positional[2]) {
    fail(
      'projects.describe',
      `[user@example.com] does not have permission to access projects instance [${positional[2]}] (or it may not exist): The caller does not have permission.`,
    );
  }
  out({
    createTime: '2024-01-01T00:00:00.000Z',
    lifecycleState: 'ACTIVE',
    name: scenario.project.projectId,
    ...scenario.project,
  });
}
if (cmd === 'billing projects describe') {
  allow('billing.projects.describe', ['format']);
  out({
    billingAccountName: scenario.billingEnabled ? 'billingAccounts/000000-000000-000000' : '',
    billingEnabled: scenario.billingEnabled === true,
    name: `projects/${positional[3]}/billingInfo`,
    projectId: positional[3],
  });
}
if (cmd === 'services list') {
  allow('services.list', ['enabled', 'project', 'format']);
  if (!flags.has('enabled')) fail('services.list', 'expected --enabled', 2);
  if (!scenario.enabledApis) {
    fail(
      'services.list',
      `PERMISSION_DENIED: Service Usage API has not been used in project ${number} before or it is disabled.`,
    );
  }
  out(
    scenario.enabledApis.map((name) => ({
      config: { name, title: name },
      name: `projects/${number}/services/${name}`,
      parent: `projects/${number}`,
      state: 'ENABLED',
    })),
  );
}
if (positional[0] === 'org-policies' && positional[1] === 'describe') {
  allow('org-policies.describe', ['project', 'effective', 'format']);
  const constraint = positional[2];
  const policy = scenario.orgPolicies?.[constraint];
  if (policy === 'DENIED') {
    fail(
      'org-policies.describe',
      `PERMISSION_DENIED: Permission 'orgpolicy.policies.get' denied on resource 'projects/${number}/policies/${constraint}'.`,
    );
  }
  const rules = policy ?? (constraint.includes('.managed.') ? [{ enforce: false }] : [{ allowAll: true }]);
  out({ name: `projects/${number}/policies/${constraint}`, spec: { rules } });
}
if (positional[0] === 'secrets' && positional[1] === 'describe') {
  allow('secrets.describe', ['project', 'format']);
  const secret = scenario.secrets?.[positional[2]];
  if (!secret)
    fail(
      'secrets.describe',
      `NOT_FOUND: Secret [projects/${number}/secrets/${positional[2]}] not found or has no versions.`,
    );
  out({
    createTime: '2024-01-01T00:00:00Z',
    name: `projects/${number}/secrets/${positional[2]}`,
    replication: { automatic: {} },
  });
}
if (cmd === 'secrets versions list') {
  allow('secrets.versions.list', ['project', 'filter', 'format']);
  const secret = scenario.secrets?.[positional[3]];
  if (!secret)
    fail(
      'secrets.versions.list',
      `NOT_FOUND: Secret [projects/${number}/secrets/${positional[3]}] not found.`,
    );
  const versions = Array.from({ length: secret.enabledVersions ?? 0 }, (_, i) => ({
    name: `projects/${number}/secrets/${positional[3]}/versions/${i + 1}`,
    state: 'ENABLED',
  }));
  out(flags.get('filter') === 'state:ENABLED' ? versions : versions);
}
fail('', `Invalid choice: '${positional.join(' ')}'.`, 2);
