import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies defaults and maps write keys to sources', () => {
    const config = loadConfig({ SLUICE_WRITE_KEY: 'k1', SLUICE_WRITE_KEYS: 'k2=shop,k3=app' });
    expect([...config.writeKeys]).toEqual([
      ['k1', 'local'],
      ['k2', 'shop'],
      ['k3', 'app'],
    ]);
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8080, transport: 'pubsub' });
    expect(config.pubsub).toMatchObject({ projectId: 'demo', topic: 'sluice-events' });
    expect(config.spool.bucket).toBe('sluice-raw');
  });

  it('fails fast listing every problem', () => {
    try {
      loadConfig({ SLUICE_PORT: 'x', SLUICE_TRANSPORT: 'kafka', SLUICE_WRITE_KEYS: 'nosource' });
      expect.fail('accepted a bad config');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('SLUICE_PORT');
      expect(problems).toContain('SLUICE_TRANSPORT');
      expect(problems).toContain('SLUICE_WRITE_KEYS entry "nosource"');
      expect(problems).toContain('no write key configured');
    }
  });
});
