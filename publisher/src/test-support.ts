import type { Clock } from './clock.ts';
import { type CollectorConfig, loadConfig } from './config.ts';

/** A config for tests: one key `wk_test` (source `web`), everything else default unless overridden. */
export function testConfig(env: Record<string, string> = {}): CollectorConfig {
  return loadConfig({
    SLUICE_WRITE_KEYS: 'wk_test=web,wk_other=app',
    SLUICE_PUBLISH_TIMEOUT_MS: '300',
    ...env,
  });
}

/** A clock that stays where it is put. */
export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return {
    now: () => new Date(now.getTime()),
    set(next: string) {
      now = new Date(next);
    },
  };
}

export function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}
