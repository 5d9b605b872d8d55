import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_APIS } from './constructs/apis.ts';
import { deployerPermissions, policyRestricts } from './preflight.ts';

/**
 * `npm run preflight -w infra -- <env>` against a fake `gcloud` first on PATH (testing/fake-gcloud.mjs, strict
 * about commands and flags, answering in the real CLI's formats) and a fake Cloud Resource Manager
 * `projects.testIamPermissions` (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions:
 * returns the subset of the asked permissions the caller holds, and omits `permissions` when it holds none).
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const infraDir = join(here, '..');
const temp = (name: string): string => mkdtempSync(join(tmpdir(), `sluice-preflight-${name}-`));

const bin = temp('bin');
writeFileSync(
  join(bin, 'gcloud'),
  `#!/bin/sh\nexec "${process.execPath}" "${join(here, 'testing/fake-gcloud.mjs')}" "$@"\n`,
);
chmodSync(join(bin, 'gcloud'), 0o755);

const envDir = temp('envs');
const base = {
  project: 'acme-analytics',
  writeKeysSecretId: 'sluice-write-keys-prod',
  alertEmail: 'ops@acme.example',
};
writeFileSync(join(envDir, 'prod.json'), JSON.stringify(base));
writeFileSync(
  join(envDir, 'pub.json'),
  JSON.stringify({ ...base, writeKeysSecretId: 'sluice-write-keys-pub', collectorAccess: 'all-users' }),
);

const TOKEN = 'ya29.fake-token';
let granted: string[] = [];
const calls: { auth?: string; url?: string; asked: string[] }[] = [];
let server: Server;
let crm = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const asked = (JSON.parse(body || '{}') as { permissions?: string[] }).permissions ?? [];
      calls.push({ auth: req.headers.authorization, url: req.url, asked });
      if (req.method !== 'POST' || req.url !== '/v1/projects/acme-analytics:testIamPermissions') {
        res.writeHead(404).end();
      } else if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"error":{"code":401,"status":"UNAUTHENTICATED"}}');
      } else {
        const held = asked.filter((p) => granted.includes(p));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(held.length ? { permissions: held } : {}));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  crm = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const healthy = {
  token: TOKEN,
  project: { projectId: 'acme-analytics', projectNumber: '123456789012' },
  billingEnabled: true,
  enabledApis: ['serviceusage.googleapis.com', 'secretmanager.googleapis.com', 'pubsub.googleapis.com'],
  orgPolicies: {},
  secrets: {
    'sluice-write-keys-prod': { enabledVersions: 1 },
    'sluice-write-keys-pub': { enabledVersions: 1 },
  },
};

async function run(
  scenario: object,
  env: string,
  command: 'tsx' | 'npm' = 'tsx',
): Promise<{ code: number; out: string; gcloudCalls: string[][] }> {
  const dir = temp('run');
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify(scenario));
  const log = join(dir, 'calls.jsonl');
  writeFileSync(log, '');
  const [file, args, cwd] =
    command === 'npm'
      ? ['npm', ['run', '--silent', 'preflight', '-w', 'infra', '--', env], join(infraDir, '..')]
      : [process.execPath, ['--import', 'tsx', 'preflight-cli.ts', env], here];
  return new Promise((resolve) => {
    execFile(
      file as string,
      args as string[],
      {
        cwd: cwd as string,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          FAKE_GCLOUD_SCENARIO: join(dir, 'scenario.json'),
          FAKE_GCLOUD_LOG: log,
          SLUICE_GCP_ENVIRONMENTS_DIR: envDir,
          SLUICE_PREFLIGHT_CRM_ENDPOINT: crm,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        const gcloudCalls = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as string[]);
        resolve({ code, out: stdout + stderr, gcloudCalls });
      },
    );
  });
}

describe('preflight (fake gcloud on PATH, fake testIamPermissions)', () => {
  it('a ready project: every check ok, exit 0, via `npm run preflight -w infra -- prod`', async () => {
    granted = deployerPermissions('invoker-iam-disabled');
    const { code, out, gcloudCalls } = await run(healthy, 'prod', 'npm');
    expect(out).toContain('ready to deploy');
    expect(code).toBe(0);
    expect(out).not.toMatch(/FAIL/);
    expect(out).toMatch(new RegExp(`will enable ${REQUIRED_APIS.length - 2} API`));
    const last = calls.at(-1);
    expect(last?.auth).toBe(`Bearer ${TOKEN}`);
    expect(last?.asked).toContain('cloudbuild.builds.create');
    // every command asked for JSON and named the project (the fake refuses unknown flags)
    expect(gcloudCalls.map((c) => c.slice(0, 2).join(' '))).toEqual([
      'auth application-default',
      'projects describe',
      'billing projects',
      'services list',
      'org-policies describe',
      'org-policies describe',
      'secrets describe',
      'secrets versions',
    ]);
  }, 60_000);

  it('names the collectorAccess that will work when the org policy blocks the chosen one', async () => {
    granted = deployerPermissions('invoker-iam-disabled');
    const enforced = { ...healthy, orgPolicies: { 'run.managed.requireInvokerIam': [{ enforce: true }] } };
    const { code, out } = await run(enforced, 'prod');
    expect(code).toBe(1);
    expect(out).toMatch(
      /FAIL org policy: collectorAccess "invoker-iam-disabled" will be refused: run\.managed\.requireInvokerIam/,
    );
    expect(out).toContain('fix: set "collectorAccess": "all-users" in infra/gcp/environments/prod.json');
    expect(out).toContain('SLUICE_ERR_INFRA_PREFLIGHT_FAILED');

    const domains = {
      ...healthy,
      orgPolicies: { 'iam.allowedPolicyMemberDomains': [{ values: { allowedValues: ['is:C0abc123'] } }] },
    };
    const pub = await run(domains, 'pub');
    expect(pub.out).toContain(
      'fix: set "collectorAccess": "invoker-iam-disabled" in infra/gcp/environments/pub.json',
    );
    const both = await run(
      { ...domains, orgPolicies: { ...domains.orgPolicies, ...enforced.orgPolicies } },
      'prod',
    );
    expect(both.out).toMatch(/both ways to make the collector public are blocked/);
  }, 60_000);

  it('a fresh, unprepared project: missing secret, missing permissions, no billing — each with its fix', async () => {
    granted = ['storage.buckets.create'];
    const { code, out } = await run(
      { ...healthy, billingEnabled: false, secrets: {}, enabledApis: ['serviceusage.googleapis.com'] },
      'prod',
    );
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL billing: billing is not enabled/);
    expect(out).toContain('fix: gcloud billing projects link acme-analytics');
    expect(out).toMatch(
      /FAIL permissions: you lack \d+ permission\(s\) a deploy uses: serviceusage\.services\.enable/,
    );
    expect(out).toMatch(
      /FAIL secret: the write-keys secret sluice-write-keys-prod is missing or unreadable: ERROR: \(gcloud\.secrets\.describe\) NOT_FOUND/,
    );
    expect(out).toContain(
      'gcloud services enable secretmanager.googleapis.com --project=acme-analytics && printf',
    );
  }, 60_000);

  it('no credentials: stops at the first check with the login command', async () => {
    const { code, out, gcloudCalls } = await run({ ...healthy, token: null }, 'prod');
    expect(code).toBe(1);
    expect(out).toContain('fix: gcloud auth application-default login');
    expect(gcloudCalls).toHaveLength(1);
  }, 60_000);
});

describe('policyRestricts (Org Policy v2 effective policies)', () => {
  it('restricts on enforce, denyAll or a values list; not on allowAll or no rules', () => {
    expect(policyRestricts({ spec: { rules: [{ enforce: true }] } })).toBe(true);
    expect(policyRestricts({ spec: { rules: [{ denyAll: true }] } })).toBe(true);
    expect(policyRestricts({ spec: { rules: [{ values: { allowedValues: ['is:C0x'] } }] } })).toBe(true);
    expect(policyRestricts({ spec: { rules: [{ allowAll: true }] } })).toBe(false);
    expect(policyRestricts({ spec: { rules: [{ enforce: false }] } })).toBe(false);
    expect(policyRestricts({ spec: {} })).toBe(false);
  });
});
