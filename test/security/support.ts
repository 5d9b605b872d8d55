/** Shared by the security suites: the real collector (buildApp) over an in-memory transport and a movable clock. */
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';

export const KEYS = { web: 'wk_web_9f3a', app: 'wk_app_71c2' } as const;

export interface TestCollector extends CollectorApp {
  transport: InMemoryTransport;
  /** Moves the collector's clock forward. */
  advance(ms: number): void;
}

/** A collector with sources `web` and `app` (keys in `KEYS`) and the given settings on top. */
export function collector(env: Record<string, string> = {}): TestCollector {
  const transport = new InMemoryTransport();
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const built = buildApp(
    loadConfig({
      SLUICE_WRITE_KEYS: `${KEYS.web}=web,${KEYS.app}=app`,
      SLUICE_PUBLISH_TIMEOUT_MS: '500',
      ...env,
    }),
    { transport, clock: { now: () => new Date(now) } },
  );
  return {
    ...built,
    transport,
    advance(ms) {
      now += ms;
    },
  };
}

export function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/** One valid track event as JSON text. */
export function trackBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'track', event: 'Probe', anonymousId: 'anon-1', ...extra });
}
