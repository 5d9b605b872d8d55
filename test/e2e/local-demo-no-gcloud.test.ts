/**
 * Issue 14 item 11: on a machine without the Google Cloud SDK, `npm run demo` works (spool, the default), and
 * `--pubsub` fails at once with one clear line. The demo runs with a PATH holding only node, npm and sh.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './local-process.ts';

describe('npm run demo on a machine without gcloud', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-no-gcloud-'));
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const which = (name: string): string => {
      for (const d of (process.env.PATH ?? '').split(':'))
        if (existsSync(join(d, name))) return join(d, name);
      throw new Error(`${name} not on PATH`);
    };
    await symlink(process.execPath, join(bin, 'node'));
    await symlink(which('npm'), join(bin, 'npm'));
    await symlink(which('sh'), join(bin, 'sh'));
    env = {
      ...process.env,
      PATH: bin,
      SLUICE_DATA_DIR: join(dir, 'data'),
      SLUICE_WINDOW_SECONDS: '1',
      SLUICE_TRANSPORT: undefined,
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the PATH really has no gcloud', () => {
    expect(existsSync(join(dir, 'bin', 'gcloud'))).toBe(false);
    expect((env.PATH ?? '').split(':')).toEqual([join(dir, 'bin')]);
  });

  it('runs end to end in spool mode and says what --pubsub would add', async () => {
    const demo = runCli('demo', ['--events', '60'], env);
    const [code] = (await once(demo.child, 'close')) as [number | null];
    expect(demo.output()).toContain('All loaded');
    expect(demo.output()).toMatch(/`--pubsub` runs the GCP topology instead/);
    expect(code).toBe(0);
  }, 240_000);

  it('--pubsub fails with one clear line naming what to install', async () => {
    const demo = runCli('demo', ['--pubsub', '--events', '60'], env);
    const [code] = (await once(demo.child, 'close')) as [number | null];
    expect(code).toBe(1);
    const lines = demo
      .output()
      .split('\n')
      .filter((l) => l.includes('SLUICE_ERR_LOCAL_GCLOUD_MISSING'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/gcloud is not on PATH: install the Google Cloud CLI/);
    expect(demo.output()).not.toContain('up in');
  }, 120_000);
});
