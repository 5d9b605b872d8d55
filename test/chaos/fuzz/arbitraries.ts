/**
 * fast-check generators of hostile Segment traffic: event-shaped objects whose every field may be wrong, strings
 * with lone surrogates and control characters, integers beyond 2^53, dates at the ends of the ISO range, deep
 * nesting; serialised by `jsonText`, which writes a bigint with every digit (as a client's JSON would carry it).
 */
import { EVENT_TYPES } from '@sluice/sdk/protocol';
import fc from 'fast-check';

/** `depth` levels of `{"d":...}` around 1, serialised without recursion (deeper than the JS stack allows). */
export class Nested {
  constructor(readonly depth: number) {}
}

export type Value = null | boolean | number | bigint | string | Nested | Value[] | { [key: string]: Value };

/** JSON text of `value`; bigints as their exact digits. Strings escaped as JSON.stringify does (lone surrogates as \uXXXX). */
export function jsonText(value: Value): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Nested) return `${'{"d":'.repeat(value.depth)}1${'}'.repeat(value.depth)}`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
    .join(',')}}`;
}

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\ud800',
      'x\udc00y',
      '\udbff',
      '😀'.slice(0, 1),
      '',
      ' ',
      '\u0000',
      '\u2028',
      'Ünïcödé ☃',
      '__proto__',
      'constructor',
      'a.b',
      'A B-c',
      'x'.repeat(300),
    ),
  },
);

const isoDate = fc
  .date({
    min: new Date('0000-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());

export const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
  hostileString,
  isoDate,
);

export const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('v'), { maxKeys: 4 }),
  ),
})).v;

const dict = fc.dictionary(hostileString, value, { maxKeys: 5 });

/**
 * An event-shaped object: `messageId` is set by the caller (unique per run); every other field may be wrong.
 * `deep` nests up to `maxDepth` levels.
 */
export const hostileEvent = (maxDepth: number): fc.Arbitrary<Record<string, Value>> =>
  fc
    .record(
      {
        type: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...EVENT_TYPES) },
          { weight: 1, arbitrary: hostileString },
        ),
        anonymousId: fc.oneof(hostileString, fc.integer()),
        userId: fc.oneof(hostileString, fc.integer(), fc.bigInt({ min: 0n, max: 10n ** 25n })),
        event: hostileString,
        name: hostileString,
        groupId: hostileString,
        previousId: hostileString,
        timestamp: fc.oneof(isoDate, hostileString),
        sentAt: fc.oneof(isoDate, hostileString),
        properties: dict,
        traits: dict,
        context: dict,
        integrations: dict,
        deep: fc.integer({ min: 1, max: maxDepth }).map((n) => new Nested(n)),
      },
      { requiredKeys: ['type'] },
    )
    .map((e) => e as Record<string, Value>);

/** The bigints anywhere inside `value`, as digit strings. */
export function bigints(value: Value): string[] {
  if (typeof value === 'bigint') return [value.toString()];
  if (value === null || typeof value !== 'object' || value instanceof Nested) return [];
  return (Array.isArray(value) ? value : Object.values(value)).flatMap(bigints);
}
