import { checkEvent, EVENT_TYPES } from '@sluice/sdk/protocol';
import { describe, expect, it } from 'vitest';
import { expectedCounts, syntheticEvents } from './synthetic-events.ts';

describe('synthetic events', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');

  it('is deterministic, valid per the protocol, and covers all six types', () => {
    const a = syntheticEvents({ count: 1000, runId: 'r', now });
    const b = syntheticEvents({ count: 1000, runId: 'r', now });
    expect(a).toEqual(b);
    for (const e of a) expect(checkEvent(e).ok).toBe(true);
    const counts = expectedCounts(a);
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(1000);
    for (const type of EVENT_TYPES) expect(a.some((e) => e.type === type)).toBe(true);
    expect(new Set(a.map((e) => e.messageId)).size).toBe(1000);
  });
});
