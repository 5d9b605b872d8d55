import { EVENT_TYPES, type EventType, type SluiceEvent } from '@sluice/sdk/protocol';

/** Track event names the generator uses (each becomes a per-event table: `order_completed`, ...). */
const SYNTHETIC_TRACK_EVENTS = ['Product Viewed', 'Order Completed', 'Signed Up'] as const;

export interface SyntheticOptions {
  count: number;
  /** Prefix of every messageId (`<runId>-<n>`), so one run's rows can be told apart from earlier runs'. */
  runId: string;
  seed?: number;
  /** Base time of the events' own timestamps. */
  now: Date;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Type mix: every type appears; tracks dominate, as in real traffic. Weights sum to 100. */
const MIX: Record<EventType, number> = { track: 50, page: 15, identify: 10, screen: 10, group: 10, alias: 5 };

/**
 * A deterministic mix of all six Segment message types for the demo and tests. The first six events are one of
 * each type, so even a tiny `count` covers every type.
 */
export function syntheticEvents(options: SyntheticOptions): SluiceEvent[] {
  const random = prng(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const out: SluiceEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const type = i < EVENT_TYPES.length ? EVENT_TYPES[i]! : weighted(random());
    const user = Math.floor(random() * 50);
    const base = {
      messageId: `${options.runId}-${i}`,
      anonymousId: `anon-${user}`,
      ...(random() < 0.7 ? { userId: `user-${user}` } : {}),
      timestamp: new Date(options.now.getTime() - (options.count - i) * 1000).toISOString(),
      context: {
        library: { name: 'sluice-demo', version: '0.1.0' },
        locale: pick(['en-US', 'de-DE', 'fr-FR']),
        page: { path: pick(['/', '/pricing', '/docs']) },
      },
    };
    out.push(eventOf(type, base, i, random, pick));
  }
  return out;
}

function weighted(r: number): EventType {
  let acc = 0;
  for (const type of EVENT_TYPES) {
    acc += MIX[type] / 100;
    if (r < acc) return type;
  }
  return 'track';
}

type Base = {
  messageId: string;
  anonymousId: string;
  userId?: string;
  timestamp: string;
  context: Record<string, unknown>;
};

function eventOf(
  type: EventType,
  base: Base,
  i: number,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): SluiceEvent {
  switch (type) {
    case 'track':
      return {
        ...base,
        type,
        event: SYNTHETIC_TRACK_EVENTS[i % SYNTHETIC_TRACK_EVENTS.length]!,
        properties: { revenue: Math.round(random() * 10_000) / 100, currency: 'USD', sku: `sku-${i % 17}` },
      };
    case 'identify':
      return { ...base, type, traits: { plan: pick(['free', 'pro', 'team']), logins: i % 9 } };
    case 'page':
      return {
        ...base,
        type,
        name: pick(['Home', 'Pricing', 'Docs']),
        properties: { referrer: 'https://example.com' },
      };
    case 'screen':
      return { ...base, type, name: pick(['Feed', 'Settings']), properties: { orientation: 'portrait' } };
    case 'group':
      return { ...base, type, groupId: `group-${i % 7}`, traits: { employees: 10 + (i % 90) } };
    case 'alias':
      return { ...base, type, userId: `user-${i}`, previousId: base.anonymousId };
    default: {
      const never: never = type;
      return never;
    }
  }
}

/** The Segment table each message type lands in. */
const TABLE_OF: Record<EventType, string> = {
  track: 'tracks',
  identify: 'identifies',
  page: 'pages',
  screen: 'screens',
  group: 'groups',
  alias: 'aliases',
};

/** Rows expected per core table. */
export function expectedCounts(events: readonly SluiceEvent[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(EVENT_TYPES.map((t) => [TABLE_OF[t], 0]));
  for (const e of events) counts[TABLE_OF[e.type]] = (counts[TABLE_OF[e.type]] ?? 0) + 1;
  return counts;
}
