import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEvent, hasIdentity, isDateTime, isValidEvent, memberRules } from './check.ts';
import { isPresentId } from './fields.ts';
import { EVENT_SCHEMAS, EVENT_TYPES, isEventType } from './messages.ts';

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

  it('takes an empty userId/anonymousId as absent, not invalid (RudderStack sends "userId": "")', () => {
    expect(checkEvent({ ...base, type: 'track', event: 'x', userId: '' }).ok).toBe(true);
    expect(checkEvent({ type: 'page', userId: 'u1', anonymousId: '' }).ok).toBe(true);
    // Neither present: still rejected, with the rule's message.
    expect(checkEvent({ type: 'track', event: 'x', userId: '', anonymousId: '' })).toEqual({
      ok: false,
      issues: [{ path: '/userId', message: 'userId or anonymousId is required' }],
    });
    expect(checkEvent({ type: 'track', event: 'x', userId: '', anonymousId: null }).ok).toBe(false);
    // Required ids stay non-empty.
    expect(checkEvent({ ...base, type: 'group', groupId: '' }).ok).toBe(false);
    expect(checkEvent({ ...base, type: 'alias', userId: '', previousId: 'a1' }).ok).toBe(false);
    expect(checkEvent({ ...base, type: 'alias', userId: 'u1', previousId: '' }).ok).toBe(false);
  });

  it('accepts integer ids (analytics-ruby passes ids as given), beyond 2^53 too; not fractions', () => {
    expect(checkEvent({ type: 'identify', userId: 42 }).ok).toBe(true);
    expect(checkEvent({ type: 'track', event: 'x', anonymousId: -7 }).ok).toBe(true);
    expect(checkEvent(JSON.parse('{"type":"identify","userId":12345678901234567890}')).ok).toBe(true);
    expect(checkEvent({ ...base, type: 'group', groupId: 9 }).ok).toBe(true);
    expect(checkEvent({ type: 'alias', userId: 1, previousId: 2 }).ok).toBe(true);
    expect(checkEvent({ type: 'identify', userId: 1.5 }).ok).toBe(false);
    expect(checkEvent({ type: 'identify', userId: true }).ok).toBe(false);
    expect(checkEvent({ type: 'identify', userId: { id: 1 } }).ok).toBe(false);
  });

  it('isPresentId: non-empty strings and integers (bigint too); not "", null, fractions', () => {
    for (const v of ['a', 0, 42, -1, 2 ** 60, 12345678901234567890n])
      expect(isPresentId(v), String(v)).toBe(true);
    for (const v of ['', null, undefined, 1.5, Number.NaN, true, {}, []])
      expect(isPresentId(v), String(v)).toBe(false);
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

describe('memberRules (the check member by member)', () => {
  /** isValidEvent rebuilt from the member rules, as the loader's compiled shapes apply them. */
  function byRules(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const event = value as Record<string, unknown>;
    if (!isEventType(event.type) || !hasIdentity(event)) return false;
    const { rules, required } = memberRules(event.type);
    if (!required.every((key) => key in event)) return false;
    return Object.entries(event).every(([key, v]) => rules.get(key)?.(v) ?? true);
  }

  const keys = [...new Set(Object.values(EVENT_SCHEMAS).flatMap((s) => Object.keys(s.properties))), 'extra'];
  const values: unknown[] = [
    '',
    'x',
    'x'.repeat(16),
    'x'.repeat(17),
    'x'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(256),
    'x'.repeat(257),
    'x'.repeat(1024),
    'x'.repeat(1025),
    '2024-05-01T12:00:00.000Z',
    '2024-05-01 12:00',
    '2024-02-30T00:00:00Z',
    '2024-13-01T00:00:00Z',
    `2024-05-01T12:00:00.${'1'.repeat(50)}Z`,
    null,
    0,
    42,
    -3,
    2 ** 60,
    1.5,
    true,
    {},
    { a: 1 },
    { All: true, Mixpanel: { x: 1 } },
    { Mixpanel: 1 },
    [],
    ...EVENT_TYPES,
    'nope',
  ];

  /** A minimal valid event of each type, which generated members then change. */
  const minimal: Record<string, Record<string, unknown>> = {
    track: { event: 'E' },
    group: { groupId: 'g' },
    alias: { userId: 'u', previousId: 'p' },
  };

  it('agree with isValidEvent on generated events of every type (valid and not)', () => {
    const valid = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.constantFrom(...EVENT_TYPES, 'nope'),
        fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 12 }),
        fc.boolean(),
        fc.boolean(),
        (type, members, fromValid, withIdentity) => {
          const event: Record<string, unknown> = { ...(fromValid ? minimal[type] : {}), ...members, type };
          if (withIdentity && !hasIdentity(event)) event.anonymousId = 'a1';
          expect(byRules(event)).toBe(isValidEvent(event));
          if (isValidEvent(event)) valid.set(type, (valid.get(type) ?? 0) + 1);
        },
      ),
      { numRuns: 20_000 },
    );
    for (const s of [null, [], 'track', 1]) expect(byRules(s)).toBe(isValidEvent(s));
    // Not vacuous: valid events of every type are among the generated ones.
    for (const type of EVENT_TYPES) expect(valid.get(type) ?? 0, type).toBeGreaterThan(50);
  });

  it('hold what the schemas say, for a few members', () => {
    const base = { messageId: 'm', anonymousId: 'a' };
    expect(isValidEvent({ ...base, type: 'track', event: 'E' })).toBe(true);
    expect(memberRules('track').required).toEqual(expect.arrayContaining(['type', 'event']));
    expect(memberRules('track').rules.get('event')?.('')).toBe(false);
    expect(memberRules('alias').rules.get('userId')?.(null)).toBe(false);
    expect(memberRules('page').rules.get('userId')?.(null)).toBe(true);
    expect([...memberRules('track').dateTimes].sort()).toEqual([
      'originalTimestamp',
      'receivedAt',
      'sentAt',
      'timestamp',
    ]);
    const rule = memberRules('track').rules.get('timestamp');
    for (const v of values) {
      expect(rule?.(v)).toBe(typeof v === 'string' && v.length <= 64 && isDateTime(v));
    }
  });
});

describe('isDateTime', () => {
  // The definition, without the hand-written fast path for Date#toISOString's form.
  const reference = (v: string): boolean =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$/.test(v) &&
    !Number.isNaN(Date.parse(v));

  it('agrees with RFC3339 + Date.parse on ISO strings and on every digit changed (impossible dates too)', () => {
    const iso = fc
      .date({
        min: new Date('0000-01-01T00:00:00.000Z'),
        max: new Date(Date.UTC(9999, 11, 31)),
      })
      .filter((d) => !Number.isNaN(d.getTime()))
      .map((d) => d.toISOString())
      .filter((s) => s.length === 24);
    const mutated = fc
      .tuple(
        iso,
        fc.array(fc.tuple(fc.nat(23), fc.constantFrom(...'0123456789:-.TZtz +'.split(''))), { maxLength: 3 }),
      )
      .map(([s, edits]) => edits.reduce((t, [at, ch]) => t.slice(0, at) + ch + t.slice(at + 1), s));
    fc.assert(
      fc.property(fc.oneof(iso, mutated), (s) => {
        expect(isDateTime(s)).toBe(reference(s));
      }),
      { numRuns: 20_000 },
    );
    for (const s of [
      '2026-02-29T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01 00:00:00.000Z',
    ]) {
      expect(isDateTime(s)).toBe(reference(s));
    }
  });
});
