import { checkEvent, EVENT_TYPES } from '@sluice/sdk/protocol';
import { describe, expect, it } from 'vitest';
import { generateEvents } from './generate.ts';

describe('generateEvents', () => {
  it('is deterministic for a seed and different across seeds', () => {
    const a = generateEvents({ seed: 7, users: 20, eventsPerUser: 10 });
    expect(generateEvents({ seed: 7, users: 20, eventsPerUser: 10 })).toEqual(a);
    expect(generateEvents({ seed: 8, users: 20, eventsPerUser: 10 })).not.toEqual(a);
  });

  it('covers all six types, nests properties and arrays, and marks exactly the invalid events', () => {
    const events = generateEvents({ seed: 3, users: 100, eventsPerUser: 20, invalidRate: 0.05 });
    expect(events).toHaveLength(2000);
    const types = new Set(events.filter((e) => !e.invalid).map((e) => e.event.type));
    expect([...types].sort()).toEqual([...EVENT_TYPES].sort());
    for (const { event, invalid } of events)
      expect(checkEvent(event).ok, JSON.stringify(event)).toBe(!invalid);
    const invalidCount = events.filter((e) => e.invalid).length;
    expect(invalidCount).toBeGreaterThan(50);
    expect(invalidCount).toBeLessThan(150);
    const withProducts = events.find(
      (e) =>
        e.event.type === 'track' &&
        ((e.event.properties as { products: unknown[] }).products.length ?? 0) > 1,
    );
    expect(withProducts).toBeDefined();
    expect(events.some((e) => (e.event.context as { campaign?: unknown }).campaign)).toBe(true);
  });
});
