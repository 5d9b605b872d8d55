import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from './config.ts';
import { isLocalError } from './errors.ts';

describe('local config', () => {
  it('defaults: .sluice at the repository root, port 8080, 5 s windows, spool transport (the durable one)', () => {
    const c = loadConfig({ PATH: '/usr/bin' });
    expect(c.dataDir).toBe(join(REPO_ROOT, '.sluice'));
    expect(c.duckdbPath).toBe(join(REPO_ROOT, '.sluice', 'warehouse.duckdb'));
    expect(c.bucketsDir).toBe(join(REPO_ROOT, '.sluice', 'buckets'));
    expect(c).toMatchObject({
      rawBucket: 'sluice-raw',
      host: '127.0.0.1',
      port: 8080,
      writeKey: 'sluice-local-key',
      addLocalWriteKey: true,
      windowSeconds: 5,
      windowMaxBytes: 64 * 1024 * 1024,
      transport: 'spool',
      pubsubProject: 'demo',
      pubsubTopic: 'sluice-events',
      pubsubSubscription: 'sluice-raw-writer',
    });
    expect(c.childEnv).toEqual({ PATH: '/usr/bin' });
  });

  it('adds the local write key only when no key is configured (issue 13 item 5)', () => {
    expect(loadConfig({ SLUICE_WRITE_KEYS: 'k1=web, k2=ios' })).toMatchObject({
      writeKey: 'k1',
      addLocalWriteKey: false,
    });
    expect(loadConfig({ SLUICE_WRITE_KEY: 'mine' })).toMatchObject({
      writeKey: 'mine',
      addLocalWriteKey: false,
    });
    expect(loadConfig({ SLUICE_WRITE_KEY: 'mine', SLUICE_WRITE_KEYS: 'k1=web' })).toMatchObject({
      writeKey: 'mine',
      addLocalWriteKey: false,
    });
    expect(loadConfig({ SLUICE_TRANSPORT: 'pubsub' }).transport).toBe('pubsub');
  });

  it('derives paths from SLUICE_DATA_DIR (relative to the repository root) unless overridden', () => {
    const c = loadConfig({
      SLUICE_DATA_DIR: 'tmp/x',
      SLUICE_BUCKETS_DIR: '/b',
      SLUICE_WINDOW_SECONDS: '1.5',
    });
    expect(c.dataDir).toBe(join(REPO_ROOT, 'tmp/x'));
    expect(c.duckdbPath).toBe(join(REPO_ROOT, 'tmp/x', 'warehouse.duckdb'));
    expect(c.bucketsDir).toBe('/b');
    expect(c.logsDir).toBe(join(REPO_ROOT, 'tmp/x', 'logs'));
    expect(c.windowSeconds).toBe(1.5);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        SLUICE_PORT: 'eighty',
        SLUICE_WINDOW_SECONDS: '0',
        SLUICE_TRANSPORT: 'kafka',
        SLUICE_PUBSUB_TOPIC: 'ab',
        SLUICE_WRITE_KEY: 'a:b',
      });
    } catch (e) {
      error = e;
    }
    expect(isLocalError(error, 'SLUICE_ERR_LOCAL_CONFIG')).toBe(true);
    const message = (error as Error).message;
    for (const name of [
      'SLUICE_PORT',
      'SLUICE_WINDOW_SECONDS',
      'SLUICE_TRANSPORT',
      'SLUICE_PUBSUB_TOPIC',
      'SLUICE_WRITE_KEY',
    ]) {
      expect(message).toContain(name);
    }
  });
});
