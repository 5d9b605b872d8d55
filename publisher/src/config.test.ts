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

  it('parses every form of SLUICE_ALLOWED_ORIGINS without a fallback to * once it is set', () => {
    const keys = { SLUICE_WRITE_KEY: 'k' };
    const unset = loadConfig(keys);
    expect(unset.defaultOrigins).toEqual(['*']);
    const perSource = loadConfig({
      ...keys,
      SLUICE_ALLOWED_ORIGINS: 'web=HTTPS://Shop.Example:443|http://a.example:8080',
    });
    expect([...perSource.allowedOrigins]).toEqual([
      ['web', ['https://shop.example', 'http://a.example:8080']],
    ]);
    expect(perSource.defaultOrigins).toEqual([]);
    const mixed = loadConfig({
      ...keys,
      SLUICE_ALLOWED_ORIGINS: 'web=https://a.example, https://b.example ,app=*',
    });
    expect(mixed.defaultOrigins).toEqual(['https://b.example']);
    expect(mixed.allowedOrigins.get('app')).toEqual(['*']);
  });

  it('refuses origins that are not bare http(s) origins, bad trust entries and non-http public URLs', () => {
    try {
      loadConfig({
        SLUICE_WRITE_KEY: 'k',
        SLUICE_ALLOWED_ORIGINS: 'web=null|https://a.example/path|javascript:x|https://u@a.example,bad id=*',
        SLUICE_TRUST_PROXY: '10.0.0.1,10.0.0.0/40,proxy',
        SLUICE_PUBLIC_URL: 'javascript:alert(1)',
        SLUICE_AUTH_FAILURES_PER_MINUTE: '-1',
      });
      expect.fail('accepted a bad config');
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      for (const bad of [
        'null',
        'https://a.example/path',
        'javascript:x',
        'https://u@a.example',
        '"bad id"',
      ]) {
        expect(problems).toContain(bad);
      }
      expect(problems).toContain(
        'SLUICE_TRUST_PROXY: not true, false, a hop count or IPs/CIDRs: 10.0.0.0/40, proxy',
      );
      expect(problems).toContain('SLUICE_PUBLIC_URL must be an http(s) URL');
      expect(problems).toContain('SLUICE_AUTH_FAILURES_PER_MINUTE');
    }
  });

  it('limits failed key lookups to 20 a minute by default; 0 turns the limit off', () => {
    expect(loadConfig({ SLUICE_WRITE_KEY: 'k' }).authFailureLimit).toEqual({ perSecond: 20 / 60, burst: 20 });
    expect(
      loadConfig({ SLUICE_WRITE_KEY: 'k', SLUICE_AUTH_FAILURES_PER_MINUTE: '0' }).authFailureLimit.perSecond,
    ).toBe(0);
  });
});
