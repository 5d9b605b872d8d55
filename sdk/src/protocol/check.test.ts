import { describe, expect, it } from 'vitest';
import { checkEvent, isValidEvent } from './check.ts';

const base = { messageId: 'm1', anonymousId: 'a1', timestamp: '2024-05-01T12:00:00.000Z' };

describe('checkEvent', () => {
  it('accepts each of the six message types in their minimal form', () => {
    const events = [
      { ...base, type: 'track', event: 'Order Completed', properties: { total: 10 } },
      { ...base, type: 'identify', traits: { plan: 'pro' } },
      { ...base, type: 'page', name: 'Home' },
      { ...base, type: 'screen', name: 'Home' },
      { ...base, type: 'group', groupId: 'g1' },
      { ...base, type: 'alias', userId: 'u1', previousId: 'a1' },
    ];
    for (const event of events) expect(checkEvent(event)).toMatchObject({ ok: true });
  });

  it('names the field path of a missing per-type required field', () => {
    const result = checkEvent({ ...base, type: 'track' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain('/event');
    const group = checkEvent({ ...base, type: 'group' });
    if (!group.ok) expect(group.issues.map((i) => i.path)).toContain('/groupId');
    else expect.fail('group without groupId accepted');
  });

  it('requires userId or anonymousId', () => {
    const result = checkEvent({ type: 'track', event: 'x' });
    expect(result).toEqual({
      ok: false,
      issues: [{ path: '/userId', message: 'userId or anonymousId is required' }],
    });
    expect(checkEvent({ type: 'track', event: 'x', userId: 'u1' }).ok).toBe(true);
    expect(checkEvent({ type: 'track', event: 'x', userId: null, anonymousId: null }).ok).toBe(false);
  });

  it('rejects unknown types, non-objects and bad timestamps', () => {
    expect(checkEvent({ ...base, type: 'click' })).toMatchObject({ ok: false, issues: [{ path: '/type' }] });
    expect(checkEvent([1, 2])).toMatchObject({ ok: false, issues: [{ path: '' }] });
    const bad = checkEvent({ ...base, type: 'page', timestamp: 'yesterday' });
    expect(bad).toMatchObject({ ok: false, issues: [{ path: '/timestamp' }] });
    expect(checkEvent({ ...base, type: 'page', timestamp: '2024-02-30T00:00:00Z' }).ok).toBe(true);
    expect(checkEvent({ ...base, type: 'page', timestamp: '2024-13-45T00:00:00Z' }).ok).toBe(false);
  });

  it('keeps extra top-level keys (Segment clients send them)', () => {
    const result = checkEvent({ ...base, type: 'track', event: 'x', _metadata: { bundled: [] } });
    expect(result.ok).toBe(true);
  });
});

describe('isValidEvent (boolean fast path of checkEvent)', () => {
  it('agrees with checkEvent', () => {
    const samples: unknown[] = [
      { type: 'track', event: 'E', userId: 'u' },
      { type: 'track', userId: 'u' },
      { type: 'track', event: 'E' },
      { type: 'identify', anonymousId: 'a', traits: { x: 1 } },
      { type: 'page', userId: 'u', timestamp: 'not a date' },
      { type: 'nope', userId: 'u' },
      [],
      null,
    ];
    for (const s of samples) expect(isValidEvent(s)).toBe(checkEvent(s).ok);
  });
});
