import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valuesOf } from '../destinations/destination.ts';
import { COERCION, type ValueKind } from '../schema/coercion.ts';
import { variantName } from '../schema/evolve.ts';
import { comparable, lineOf, testNormalizer } from './normalizer.test-support.ts';
import type { Normalized, Normalizer } from './normalizer.ts';

/**
 * The differential test of issue 17: for every pair (the kind of value that made a column, the kind of value
 * that meets it next), at every place a value can sit (a track's properties, nested, a child-table item, context
 * (two rows), an identify's traits (identifies + users), a group's (groups + accounts), a page's, a top-level
 * key), every path gives exactly the rows and schema changes of the general path:
 * - `general`: the general path alone (route + resolve);
 * - `fast`: the fast path, no compiled shapes (`compileAfter: Infinity`);
 * - `all`: compiled shapes (after one fast-path event of a kind), then the fast path, then the general path.
 */

/** The kinds a value can have in a raw line (more than `ValueKind`: what JSON holds). */
const KINDS = [
  'BOOL',
  'INT64',
  'FLOAT64',
  'STRING',
  'TIMESTAMP',
  'BIGINT',
  'BEYOND_INT64',
  'NON_FINITE',
  'NULL',
  'OBJECT',
  'EMPTY_OBJECT',
  'ARRAY',
  'OBJECTS',
  'EMPTY_ARRAY',
] as const;
type Kind = (typeof KINDS)[number];

const scalarText = fc.oneof(
  fc.integer({ min: -9, max: 9 }).map(String),
  fc.constantFrom('"x"', 'true', '2.5', 'null', '"2026-01-01T00:00:00Z"'),
);

/** The JSON text of a value of each kind (integers beyond 2^53 as digits: only the exact parse keeps them). */
const VALUE_TEXT: Record<Kind, fc.Arbitrary<string>> = {
  BOOL: fc.boolean().map(String),
  INT64: fc
    .oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1)))
    .map(String),
  FLOAT64: fc
    .double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
    .filter((d) => !Number.isInteger(d))
    .map((d) => JSON.stringify(d)),
  STRING: fc
    .oneof(
      fc.constantFrom('oops', '', '2026-02-30T00:00:00Z', '2026-01-01', '12345678901234567890123', 'true'),
      fc.string({ maxLength: 6 }),
    )
    .map((s) => JSON.stringify(s)),
  TIMESTAMP: fc
    .tuple(
      fc.date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      }),
      fc.constantFrom('Z', 'lower', '+02:00', 'nanos'),
    )
    .map(([d, form]) => {
      const iso = d.toISOString();
      if (form === 'lower') return JSON.stringify(iso.replace('T', 't').replace('Z', 'z'));
      if (form === '+02:00') return JSON.stringify(iso.replace('Z', '+02:00'));
      if (form === 'nanos') return JSON.stringify(iso.replace('Z', '123456Z'));
      return JSON.stringify(iso);
    }),
  BIGINT: fc
    .oneof(
      fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }),
    )
    .map(String),
  BEYOND_INT64: fc.bigInt({ min: 2n ** 63n, max: 2n ** 70n }).map(String),
  NON_FINITE: fc.constantFrom('1e999', '-1e999'),
  NULL: fc.constant('null'),
  OBJECT: fc.tuple(scalarText, scalarText).map(([a, b]) => `{"a":${a},"b":${b}}`),
  EMPTY_OBJECT: fc.constant('{}'),
  ARRAY: fc.array(scalarText, { minLength: 1, maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
  OBJECTS: fc
    .array(scalarText, { minLength: 1, maxLength: 2 })
    .map((xs) => `[${xs.map((x) => `{"a":${x}}`).join(',')}]`),
  EMPTY_ARRAY: fc.constant('[]'),
};

/** Where the value sits in its event: in a payload or context (a column of its own) ... */
const PAYLOAD_PLACES = ['property', 'nested', 'item', 'context', 'trait', 'group', 'page', 'top'] as const;
/**
 * ... or as an envelope member (`userId`, `anonymousId`: a STRING column whatever the value; `event`: the table's
 * name), where most kinds are invalid by the protocol and a number is an id's decimal text: a compiled shape
 * recorded from a string must refuse every other kind there.
 */
const ENVELOPE_PLACES = ['userId', 'anonymousId', 'event'] as const;
const PLACES = [...PAYLOAD_PLACES, ...ENVELOPE_PLACES] as const;
type Place = (typeof PLACES)[number];

/** Stands for the value in the event (replaced by its JSON text). */
const PLACEHOLDER = '\u0000V';
const V = JSON.stringify(PLACEHOLDER);

/** The line of an event with the value's JSON text at `place` (key `flag`). */
function eventLine(place: Place, valueText: string, i: number): string {
  const base: Record<string, unknown> = {
    type: 'track',
    event: 'Order Completed',
    messageId: `m${i}`,
    userId: 'u1',
    receivedAt: '2026-01-01T00:00:01.000Z',
    timestamp: '2026-01-01T00:00:00.000Z',
    context: { ip: '10.0.0.1' },
  };
  const v = PLACEHOLDER;
  switch (place) {
    case 'property':
      base.properties = { total: 3, flag: v, sku: 'a' };
      break;
    case 'nested':
      base.properties = { total: 3, cart: { flag: v, n: 1 } };
      break;
    case 'item':
      base.properties = {
        products: [
          { sku: 'a', flag: v },
          { sku: 'b', flag: v },
        ],
      };
      break;
    case 'context':
      base.context = { ip: '10.0.0.1', flag: v };
      base.properties = { total: 3 };
      break;
    case 'trait':
      base.type = 'identify';
      delete base.event;
      base.traits = { plan: 'pro', flag: v };
      break;
    case 'group':
      base.type = 'group';
      delete base.event;
      base.groupId = 'g1';
      base.traits = { name: 'Acme', flag: v };
      break;
    case 'page':
      base.type = 'page';
      delete base.event;
      base.properties = { path: '/', flag: v };
      break;
    case 'top':
      base.flag = v;
      base.properties = { total: 3 };
      break;
    case 'userId':
      base.userId = v;
      base.anonymousId = 'a1';
      base.properties = { total: 3 };
      break;
    case 'anonymousId':
      base.anonymousId = v;
      base.properties = { total: 3 };
      break;
    case 'event':
      base.event = v;
      base.properties = { total: 3 };
      break;
  }
  const text = JSON.stringify(base);
  if (!text.includes(V)) throw new Error('no placeholder');
  // A function, not the text itself: `$&`, `$'` and `` $` `` in a generated string are replacement patterns.
  return text.replaceAll(V, () => valueText);
}

/** The `ValueKind` of a scalar kind a compiled shape can take (JSON.parse values, no exact parse). */
const COMPILABLE: Partial<Record<Kind, ValueKind>> = {
  BOOL: 'BOOL',
  INT64: 'INT64',
  FLOAT64: 'FLOAT64',
  STRING: 'STRING',
  TIMESTAMP: 'TIMESTAMP',
};

type PathName = 'compiled' | 'fast' | 'general';

function pathOf(n: Normalizer, run: () => void): PathName {
  const before = { ...n.stats };
  run();
  if (n.stats.compiled > before.compiled) return 'compiled';
  return n.stats.fast > before.fast ? 'fast' : 'general';
}

describe('every path against the general path, for every (column type, value kind) pair', () => {
  it('gives the same rows, schema changes and schema; a compiled shape takes exactly what the coercion table writes', () => {
    // (first kind, second kind) -> paths the second value took on the normalizer with every path.
    const seen = new Map<string, Set<PathName>>();
    // Every (first kind, second kind, place), each with generated values of both kinds (a new draw every run).
    for (const first of KINDS)
      for (const second of KINDS)
        for (const place of PLACES)
          fc.assert(
            fc.property(VALUE_TEXT[first], VALUE_TEXT[second], (a, b) => {
              const general = testNormalizer({ fastPath: false });
              const fast = testNormalizer({ fastPath: true, compileAfter: Number.POSITIVE_INFINITY });
              const all = testNormalizer({ fastPath: true, compileAfter: 1 });
              // The first kind makes the column (general path), meets it (fast path, recorded and compiled), runs
              // compiled; then the second kind meets the column twice (a compiled shape of the first kind must refuse
              // what its column does not take as is), then the first kind again.
              const texts = [a, a, a, b, b, a];
              texts.forEach((text, i) => {
                const line = lineOf(i + 1, eventLine(place, text, i));
                const expected = comparable(general.normalize(line));
                expect(comparable(fast.normalize(line)), `fast path, line ${line.text}`).toEqual(expected);
                let allResult: Normalized | undefined;
                const path = pathOf(all, () => {
                  allResult = all.normalize(line);
                });
                expect(comparable(allResult as Normalized), `${path} path, line ${line.text}`).toEqual(
                  expected,
                );
                if (i === 3) {
                  const key = `${first}>${second}@${place}`;
                  const paths = seen.get(key) ?? new Set<PathName>();
                  paths.add(path);
                  seen.set(key, paths);
                }
              });
              expect(fast.schema).toEqual(general.schema);
              expect(all.schema).toEqual(general.schema);
              expect(general.stats.fast + general.stats.compiled).toBe(0);
            }),
            { numRuns: 1 },
          );
    // Not vacuous: for the scalar pairs, the second value went to the compiled shape exactly when the coercion
    // table writes its kind into the first kind's column as is (at the places a shape compiles).
    let compiledPairs = 0;
    let refusedPairs = 0;
    let envelopeCompiled = 0;
    for (const [key, paths] of seen) {
      const [pair, place] = key.split('@') as [string, Place];
      const [first, second] = pair.split('>') as [Kind, Kind];
      if ((ENVELOPE_PLACES as readonly string[]).includes(place)) {
        // An envelope member's shape is recorded from a string (or null, absent): it takes a string (an id, a name)
        // or null, nothing else (a number, a boolean, an object: the general path decides).
        const text = (k: Kind) => k === 'STRING' || k === 'TIMESTAMP';
        if (paths.has('compiled')) {
          expect(second === 'NULL' || (text(first) && text(second)), `${key}: compiled`).toBe(true);
          if (second !== 'NULL') envelopeCompiled++;
        }
        continue;
      }
      const column = COMPILABLE[first] as Exclude<ValueKind, 'BIGINT'> | undefined;
      const kind = COMPILABLE[second];
      if (column === undefined || kind === undefined) continue;
      // A timestamp-shaped value made a TIMESTAMP column; a STRING column takes a timestamp as is too.
      if (COERCION[column][kind] === 'write') {
        expect(paths.has('compiled'), `${key}: compiled`).toBe(true);
        compiledPairs++;
      } else {
        expect(paths.has('compiled'), `${key}: refused by the compiled shape`).toBe(false);
        refusedPairs++;
      }
    }
    // 7 of the 25 scalar pairs write as is, at each of the 8 payload places.
    expect(compiledPairs).toBe(7 * PAYLOAD_PLACES.length);
    expect(refusedPairs).toBe(18 * PAYLOAD_PLACES.length);
    // And a string id after a string id was compiled (a timestamp-shaped one too), at userId and anonymousId at
    // least (an empty id is absent: its shape refuses a non-empty one, so not every draw compiles).
    expect(envelopeCompiled).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

/** FNV-1a (32-bit) state after `text`, from `state` (`stableHash` is its final state in hex). */
function fnv(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Two column names (`prefix` + six characters each, 61 characters) whose variant names (`<column>__v_string`, 71
 * characters) are shortened to the same name: past the 64-character limit a variant is its first 55 characters
 * (the prefix) and the FNV-1a hash of the whole (`variantName`), so two suffixes after which the hash's state is
 * the same make one variant name. Found by a birthday search over the suffixes (a 32-bit state: some 10^5 tries).
 */
function collidingColumns(prefix: string): [string, string] {
  const start = fnv(0x811c9dc5, prefix);
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const suffix = i.toString(36).padStart(6, '0');
    const state = fnv(start, suffix);
    const other = seen.get(state);
    if (other !== undefined) return [`${prefix}${other}`, `${prefix}${suffix}`];
    seen.set(state, suffix);
  }
}

describe('two keys of one row whose variant columns meet', () => {
  it('puts the second into the overflow column, on every path', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{55}$/), (prefix) => {
        const [a, b] = collidingColumns(prefix);
        expect(a).not.toBe(b);
        expect(variantName(a, 'STRING', 64)).toBe(variantName(b, 'STRING', 64));
        const general = testNormalizer({ fastPath: false });
        const all = testNormalizer({ fastPath: true });
        const text = (i: number, va: unknown, vb: unknown) =>
          JSON.stringify({
            type: 'track',
            event: 'Collide',
            messageId: `m${i}`,
            userId: 'u1',
            receivedAt: '2026-01-01T00:00:01.000Z',
            properties: { [a]: va, [b]: vb },
          });
        // Integers make both columns INT64 (and the fast path and a compiled shape run); strings then need the one
        // variant column both names shorten to: the first key takes it, the second goes to the overflow column.
        const lines = [text(0, 1, 2), text(1, 3, 4), text(2, 5, 6), text(3, 'x', 'y'), text(4, 'z', 'w')];
        const results = lines.map((t, i) => {
          const line = lineOf(i + 1, t);
          const expected = general.normalize(line);
          expect(comparable(all.normalize(line))).toEqual(comparable(expected));
          return expected;
        });
        const variant = variantName(a, 'STRING', 64);
        for (const [i, first, second] of [
          [3, 'x', 'y'],
          [4, 'z', 'w'],
        ] as const) {
          const result = results[i] as Normalized;
          const own = result.ok ? result.rows.find((r) => r.table === 'collide') : undefined;
          expect(own === undefined ? undefined : valuesOf(own)).toMatchObject({
            [variant]: first,
            _sluice_overflow: `{${JSON.stringify(`properties.${b}`)}:${JSON.stringify(second)}}`,
          });
        }
        expect(all.schema).toEqual(general.schema);
      }),
      { numRuns: 2 },
    );
  });
});

describe('an event key that takes a bookkeeping column name', () => {
  it('goes to the overflow column, the load time staying in loaded_at, on every path', () => {
    const general = testNormalizer({ fastPath: false });
    const all = testNormalizer({ fastPath: true });
    for (let i = 0; i < 4; i++) {
      // A top-level key is not hoisted past the common columns: `loaded_at` here names the bookkeeping column.
      const text = JSON.stringify({
        type: 'track',
        event: 'Signed Up',
        messageId: `m${i}`,
        userId: 'u1',
        receivedAt: '2026-01-01T00:00:01.000Z',
        loaded_at: 'x',
        properties: { plan: 'pro' },
      });
      const expected = general.normalize(lineOf(i + 1, text));
      expect(comparable(all.normalize(lineOf(i + 1, text)))).toEqual(comparable(expected));
      expect(expected.ok).toBe(true);
      for (const row of expected.ok ? expected.rows : []) {
        // Each column at most once in a row, the load's time in loaded_at and the key in the overflow column.
        expect(new Set(row.at).size).toBe(row.at.length);
        expect(valuesOf(row)).toMatchObject({
          loaded_at: '2026-01-01T00:00:00.000Z',
          _sluice_overflow: '{"loaded_at":"x"}',
        });
      }
    }
  });
});
