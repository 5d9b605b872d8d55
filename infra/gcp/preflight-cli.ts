// `npm run preflight -w infra -- <env>`: checks what can be checked before `cdktf deploy` (see preflight.ts).
import { execFile } from 'node:child_process';

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const printError = (line: string): void => void process.stderr.write(`${line}\n`);

import { GcpConfigError, loadConfig, loadPreflightSettings } from './config.ts';
import { formatFindings, type GcloudResult, PREFLIGHT_FAILED, preflight } from './preflight.ts';

async function main(): Promise<number> {
  const environment = process.argv[2];
  if (!environment) {
    printError('usage: npm run preflight -w infra -- <environment>   (a file in infra/gcp/environments/)');
    return 2;
  }
  const [config] = loadConfig({ ...process.env, SLUICE_GCP_ENVIRONMENTS: environment });
  if (!config) return 2;
  const settings = loadPreflightSettings(process.env);
  const gcloud = (args: string[]): Promise<GcloudResult> =>
    new Promise((resolve) => {
      execFile(settings.gcloud, args, { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
        resolve({ code, stdout, stderr: stderr || (error && code === 127 ? String(error.message) : '') });
      });
    });
  const findings = await preflight(config, {
    gcloud,
    // https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions
    testIamPermissions: async (project, token, permissions) => {
      const res = await fetch(`${settings.crmEndpoint}/v1/projects/${project}:testIamPermissions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ permissions }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
      const body = (await res.json()) as { permissions?: string[] };
      return body.permissions ?? [];
    },
  });
  print(
    `Preflight for ${environment} (project ${config.project}, collectorAccess ${config.collectorAccess})`,
  );
  print(formatFindings(findings));
  const failed = findings.filter((f) => f.status === 'fail').length;
  if (failed > 0) {
    print(`${PREFLIGHT_FAILED}: ${failed} check(s) failed; fix them before cdktf deploy`);
    return 1;
  }
  print('ready to deploy');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    printError(error instanceof GcpConfigError ? error.message : String(error));
    process.exit(2);
  },
);
