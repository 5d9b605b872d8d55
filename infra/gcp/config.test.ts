import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GcpConfigError, loadConfig, parseEnvironment } from './config.ts';

const base = { project: 'acme-analytics', writeKeysSecretId: 'sluice-write-keys-prod' };

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-envs-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(body));
  return dir;
}

describe('GCP config', () => {
  it('applies defaults: 600 s window, us-central1, retention 365 d', () => {
    const { config } = parseEnvironment('prod', base);
    expect(config).toMatchObject({
      environment: 'prod',
      project: 'acme-analytics',
      region: 'us-central1',
      namePrefix: 'sluice',
      windowSeconds: 600,
      retentionDays: 365,
      coldAfterDays: 30,
      forceDestroy: false,
    });
  });

  it('accepts windows of 60 and 600 s and rejects 59 and 601', () => {
    expect(parseEnvironment('prod', { ...base, windowSeconds: 60 }).config?.windowSeconds).toBe(60);
    expect(parseEnvironment('prod', { ...base, windowSeconds: 600 }).config?.windowSeconds).toBe(600);
    for (const windowSeconds of [59, 601, 90.5]) {
      expect(parseEnvironment('prod', { ...base, windowSeconds }).problems.join()).toMatch(/windowSeconds/);
    }
  });

  it('lists every problem at once', () => {
    const { problems } = parseEnvironment('prod', {
      project: 'X',
      windowSeconds: 5,
      retentionDays: 10,
      coldAfterDays: 30,
      writeKeysSecretId: 'keys-ci',
      typo: 1,
    });
    expect(problems.join('\n')).toMatch(/project/);
    expect(problems.join('\n')).toMatch(/windowSeconds/);
    expect(problems.join('\n')).toMatch(/retentionDays/);
    expect(problems.join('\n')).toMatch(/writeKeysSecretId must end with the environment name/);
    expect(problems.join('\n')).toMatch(/typo is not a setting/);
  });

  it('rejects derived names GCP would refuse (bucket names may not contain "google") at synth time', () => {
    const { problems } = parseEnvironment('prod', { ...base, namePrefix: 'google' });
    expect(problems.join()).toMatch(/bucket name/);
  });

  it('loadConfig reads every environment file once and can select some', () => {
    const dir = dirWith({
      'prod.json': base,
      'ci.json': { ...base, writeKeysSecretId: 'sluice-write-keys-ci', windowSeconds: 60 },
    });
    expect(loadConfig({ SLUICE_GCP_ENVIRONMENTS_DIR: dir }).map((c) => c.environment)).toEqual([
      'ci',
      'prod',
    ]);
    expect(
      loadConfig({ SLUICE_GCP_ENVIRONMENTS_DIR: dir, SLUICE_GCP_ENVIRONMENTS: 'ci' }).map(
        (c) => c.windowSeconds,
      ),
    ).toEqual([60]);
    expect(() =>
      loadConfig({ SLUICE_GCP_ENVIRONMENTS_DIR: dir, SLUICE_GCP_ENVIRONMENTS: 'staging' }),
    ).toThrow(GcpConfigError);
  });

  it('the shipped environment files are valid and distinct', () => {
    const configs = loadConfig({});
    expect(configs.map((c) => c.environment)).toEqual(['ci', 'prod']);
    expect(configs.find((c) => c.environment === 'prod')?.windowSeconds).toBe(600);
  });
});
