import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { type GcpConfig, parseEnvironment } from './config.ts';
import { sluiceStacks } from './stack.ts';

/** Test helper: synthesizes stacks into a fresh temp dir and returns each stack's Terraform JSON. */
export type TerraformJson = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown }>;
  terraform?: Record<string, unknown>;
};

export function testConfig(environment: string, overrides: Record<string, unknown> = {}): GcpConfig {
  const parsed = parseEnvironment(environment, {
    project: 'sluice-test-project',
    writeKeysSecretId: `sluice-write-keys-${environment}`,
    alertEmail: 'ops@example.com',
    ...overrides,
  });
  if (!parsed.config) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

/** A minimal source dir standing in for a packaged function (stack tests do not need the real code). */
export function placeholderSource(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  writeFileSync(join(dir, 'index.js'), 'export {};\n');
  writeFileSync(join(dir, 'package.json'), `{"name":"${name}","type":"module","main":"index.js"}\n`);
  return dir;
}

export function synthStacks(
  configs: GcpConfig[],
  sources = { loaderDir: placeholderSource('loader'), collectorDir: placeholderSource('collector') },
): { outdir: string; stacks: Map<string, TerraformJson> } {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-synth-'));
  const app = new App({ outdir });
  const { projects, environments } = sluiceStacks(app, configs, sources);
  const names = [...projects, ...environments].map((s) => s.node.id);
  app.synth();
  const stacks = new Map<string, TerraformJson>();
  for (const name of names) {
    stacks.set(
      name,
      JSON.parse(readFileSync(join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8')) as TerraformJson,
    );
  }
  return { outdir, stacks };
}
