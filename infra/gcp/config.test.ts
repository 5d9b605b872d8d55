import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GcpConfigError, loadConfig, parseEnvironment } from './config.ts';

const base = {
  project: 'acme-analytics',
  writeKeysSecretId: 'sluice-write-keys-prod',
  alertEmail: 'ops@acme.example',
};

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

  // Coldline's minimum storage duration is 90 days: objects deleted or moved earlier bill the rest
  // (https://cloud.google.com/storage/pricing#early-deletion).
  it("rejects a Coldline transition that deletion would cut short of Coldline's 90-day minimum", () => {
    const at = (coldAfterDays: number, retentionDays: number) =>
      parseEnvironment('prod', { ...base, coldAfterDays, retentionDays }).problems.join();
    expect(at(3, 7)).toMatch(/Coldline bills 90 days minimum/);
    expect(at(30, 119)).toMatch(/retentionDays - coldAfterDays must be >= 90/);
    expect(at(30, 120)).toBe('');
    expect(at(0, 7)).toBe(''); // never Coldline
    expect(at(30, 0)).toBe(''); // never deleted
  });

  it('collectorAccess defaults to invoker-iam-disabled, accepts all-users, and rejects anything else', () => {
    expect(parseEnvironment('prod', base).config?.collectorAccess).toBe('invoker-iam-disabled');
    expect(parseEnvironment('prod', { ...base, collectorAccess: 'all-users' }).config?.collectorAccess).toBe(
      'all-users',
    );
    expect(parseEnvironment('prod', { ...base, collectorAccess: 'public' }).problems.join()).toMatch(
      /collectorAccess must be one of invoker-iam-disabled, all-users/,
    );
    expect(parseEnvironment('prod', { ...base, alertEmail: 'nobody' }).problems.join()).toMatch(/alertEmail/);
    expect(parseEnvironment('prod', { ...base, failedEventsAlertRatio: 0 }).problems.join()).toMatch(
      /failedEventsAlertRatio/,
    );
  });

  it('environments of one project must agree on what their shared project stack needs', () => {
    const dir = dirWith({
      'prod.json': { ...base, stateBucket: 'acme-tf-state' },
      'ci.json': { ...base, writeKeysSecretId: 'sluice-write-keys-ci' },
    });
    expect(() => loadConfig({ SLUICE_GCP_ENVIRONMENTS_DIR: dir })).toThrow(/share one project stack/);
  });

  it('the shipped environment files are valid and distinct', () => {
    const configs = loadConfig({});
    expect(configs.map((c) => c.environment)).toEqual(['ci', 'prod']);
    expect(configs.find((c) => c.environment === 'prod')?.windowSeconds).toBe(600);
  });
});
