import { EVENT_TYPES, type EventType } from '@sluice/sdk/protocol';

/** Deterministic PRNG (mulberry32): same seed, same traffic. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  seed?: number;
  users: number;
  eventsPerUser: number;
  /** Share of events made invalid on purpose (missing ids, bad timestamp, empty event name). Default 0.02. */
  invalidRate?: number;
  /** Base instant for client timestamps (default 2024-05-01T00:00:00Z). */
  start?: Date;
}

export interface GeneratedEvent {
  event: Record<string, unknown>;
  /** True when the event was made invalid on purpose. */
  invalid: boolean;
}

const EVENTS = [
  'Product Viewed',
  'Product Added',
  'Checkout Started',
  'Order Completed',
  'Signed Up',
  'Searched',
];
const PAGES = ['/', '/pricing', '/docs', '/blog/launch', '/products/widget', '/cart'];
const SOURCES = ['google', 'newsletter', 'twitter', 'partner'];
const PLANS = ['free', 'pro', 'enterprise'];
// Realistic mix: mostly tracks and pages.
const TYPE_WEIGHTS: Record<EventType, number> = {
  track: 50,
  page: 25,
  identify: 10,
  screen: 8,
  group: 5,
  alias: 2,
};

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function pickType(random: () => number): EventType {
  const total = EVENT_TYPES.reduce((s, t) => s + TYPE_WEIGHTS[t], 0);
  let r = random() * total;
  for (const t of EVENT_TYPES) {
    r -= TYPE_WEIGHTS[t];
    if (r < 0) return t;
  }
  return 'track';
}

/**
 * Synthetic Segment traffic: `users x eventsPerUser` events of all six types, with nested properties, arrays of
 * objects, campaign context and a share of invalid events. Deterministic for a seed (message ids included).
 */
export function generateEvents(options: GenerateOptions): GeneratedEvent[] {
  const seed = options.seed ?? 1;
  const random = createRandom(seed);
  const invalidRate = options.invalidRate ?? 0.02;
  const start = (options.start ?? new Date('2024-05-01T00:00:00.000Z')).getTime();
  const out: GeneratedEvent[] = [];
  let n = 0;
  for (let u = 0; u < options.users; u++) {
    const anonymousId = `anon-${seed}-${u}`;
    const userId = random() < 0.6 ? `user-${seed}-${u}` : undefined;
    for (let e = 0; e < options.eventsPerUser; e++) {
      const type = pickType(random);
      const ts = new Date(start + Math.floor(random() * 86_400_000)).toISOString();
      const context: Record<string, unknown> = {
        library: { name: 'sluice-loadgen', version: '1' },
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) loadgen',
        locale: pick(random, ['en-US', 'de-DE', 'fr-FR']),
        page: { path: pick(random, PAGES), referrer: 'https://www.google.com/' },
        ...(random() < 0.3
          ? {
              campaign: {
                source: pick(random, SOURCES),
                medium: 'cpc',
                name: `spring-${Math.floor(random() * 5)}`,
              },
            }
          : {}),
      };
      const base: Record<string, unknown> = {
        type,
        messageId: `lg-${seed}-${n++}`,
        anonymousId,
        ...(userId ? { userId } : {}),
        timestamp: ts,
        context,
      };
      let event: Record<string, unknown>;
      switch (type) {
        case 'track': {
          const items = Math.floor(random() * 4);
          event = {
            ...base,
            event: pick(random, EVENTS),
            properties: {
              revenue: Math.round(random() * 10_000) / 100,
              currency: 'USD',
              coupon: random() < 0.2 ? 'SPRING' : null,
              products: Array.from({ length: items }, (_, i) => ({
                sku: `sku-${Math.floor(random() * 100)}`,
                price: Math.round(random() * 5000) / 100,
                quantity: 1 + i,
                categories: ['widgets', pick(random, ['blue', 'red'])],
              })),
              experiment: { id: `exp-${Math.floor(random() * 3)}`, variant: pick(random, ['a', 'b']) },
            },
          };
          break;
        }
        case 'page':
          event = {
            ...base,
            name: pick(random, ['Home', 'Pricing', 'Docs']),
            properties: { path: pick(random, PAGES) },
          };
          break;
        case 'screen':
          event = { ...base, name: pick(random, ['Home', 'Settings', 'Feed']), properties: { tab: 'main' } };
          break;
        case 'identify':
          event = {
            ...base,
            userId: `user-${seed}-${u}`,
            traits: {
              email: `user${u}@example.com`,
              plan: pick(random, PLANS),
              address: { city: pick(random, ['Berlin', 'Lyon', 'Austin']), country: 'XX' },
              logins: Math.floor(random() * 100),
            },
          };
          break;
        case 'group':
          event = {
            ...base,
            groupId: `org-${Math.floor(random() * 50)}`,
            traits: { name: 'Acme', employees: 42 },
          };
          break;
        case 'alias':
          event = { ...base, userId: `user-${seed}-${u}`, previousId: anonymousId };
          break;
        default: {
          const never: never = type;
          throw new Error(`unknown type ${String(never)}`);
        }
      }
      const invalid = random() < invalidRate;
      if (invalid) {
        const how = Math.floor(random() * 3);
        if (how === 0) {
          delete event.anonymousId;
          delete event.userId;
        } else if (how === 1) event.timestamp = 'yesterday';
        else event.type = 'clicked';
      }
      out.push({ event, invalid });
    }
  }
  return out;
}
