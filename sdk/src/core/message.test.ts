import { describe, expect, it } from 'vitest';
import { identifyArgs, message, pageArgs } from './message.ts';
import { backoff, outcome, retryAfterMs } from './retry.ts';

describe('argument overloads (Segment-compatible)', () => {
  it('page/screen', () => {
    expect(pageArgs('Home')).toMatchObject({ name: 'Home', properties: {} });
    expect(pageArgs('Docs', 'Install')).toMatchObject({ category: 'Docs', name: 'Install' });
    expect(pageArgs('Home', { a: 1 }, { userId: 'u' })).toMatchObject({
      name: 'Home',
      properties: { a: 1 },
      options: { userId: 'u' },
    });
    expect(pageArgs({ a: 1 })).toMatchObject({ properties: { a: 1 } });
    expect(pageArgs('Docs', 'Install', { a: 1 }, { anonymousId: 'x' })).toMatchObject({
      properties: { a: 1 },
      options: { anonymousId: 'x' },
    });
  });
  it('identify', () => {
    expect(identifyArgs('u', { a: 1 })).toMatchObject({ userId: 'u', traits: { a: 1 } });
    expect(identifyArgs({ a: 1 }, { userId: 'x' })).toMatchObject({
      traits: { a: 1 },
      options: { userId: 'x' },
    });
  });
  it('per-call context merges one level deep over the environment context', () => {
    const e = message(
      'track',
      { event: 'x' },
      { context: { page: { title: 'T' }, ip: '1.2.3.4' } },
      {
        anonymousId: 'a',
        context: { page: { path: '/p', title: 'old' } },
      },
    );
    expect(e.context).toEqual({ page: { path: '/p', title: 'T' }, ip: '1.2.3.4' });
    expect(e.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('retry policy', () => {
  it('classifies statuses', () => {
    expect(outcome(200, null, 0)).toEqual({ ok: true });
    expect(outcome(503, '7', 0)).toMatchObject({ retry: true, after: 7000 });
    expect(outcome(429, null, 0)).toMatchObject({ retry: true });
    for (const s of [400, 401, 413]) expect(outcome(s, null, 0)).toMatchObject({ ok: false, retry: false });
  });
  it('parses Retry-After dates and grows delays exponentially within jitter bounds, capped', () => {
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const exp = Math.min(8000, 100 * 2 ** (attempt - 1));
      const d = backoff(attempt, 100, 8000);
      expect(d).toBeGreaterThanOrEqual(exp / 2);
      expect(d).toBeLessThanOrEqual(exp);
    }
    expect(backoff(1, 100, 8000, 30_000)).toBe(30_000);
  });
});
