import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valuesOf } from '../destinations/destination.ts';
import { DUCKDB_CAPABILITIES } from '../destinations/duckdb/capabilities.ts';
import { TABLE_COLUMNS } from '../load/load-object.ts';
import type { WarehouseSchema } from '../model/warehouse.ts';
import { namingRules } from '../naming/identifier.ts';
import { NameCache } from '../naming/name-cache.ts';
import { COERCION, type ValueKind } from '../schema/coercion.ts';
import { DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { createNormalizer, type Normalized, type Normalizer } from './normalizer.ts';

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

/** Where the value sits in its event. */
const PLACES = ['property', 'nested', 'item', 'context', 'trait', 'group', 'page', 'top'] as const;
type Place = (typeof PLACES)[number];

/** Stands for the value in the event (replaced by its JSON text). */
const PLACEHOLDER = '\u0000V';
const V = JSON.stringify(PLACEHOLDER);

/** The line of an event with the value's JSON text at `place` (key `flag`). */
function lineOf(place: Place, valueText: string, i: number): string {
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
  }
  const text = JSON.stringify(base);
  if (!text.includes(V)) throw new Error('no placeholder');
  return text.replaceAll(V, valueText);
}

function normalizer(
  compileAfter: number | undefined,
  fastPath: boolean,
): Normalizer & { schema: WarehouseSchema } {
  const schema: WarehouseSchema = new Map();
  return {
    schema,
    ...createNormalizer({
      schema,
      names: new NameCache(namingRules(DUCKDB_CAPABILITIES)),
      maxNestingDepth: 3,
      contracts: DEFAULT_CONTRACTS,
      columnBudget: 60,
      canWidenIntToFloat: true,
      maxColumnNameLength: 64,
      tableColumns: TABLE_COLUMNS,
      tableValues: ['2026-01-01T00:00:00.000Z', 'load-1'],
      fastPath,
      ...(compileAfter === undefined ? {} : { compileAfter }),
    }),
  };
}

/** A result with rows as column -> value maps, NULL cells dropped (a NULL cell and an absent one are the same). */
function comparable(result: Normalized): unknown {
  if (!result.ok) return { failed: result.failure.code, reason: result.failure.reason };
  return {
    receivedAt: result.receivedAt,
    rows: result.rows.map((r) => [
      r.table,
      Object.fromEntries(Object.entries(valuesOf(r)).filter(([, v]) => v !== null)),
    ]),
    changes: result.changes,
    discarded: result.discarded,
  };
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
              const general = normalizer(undefined, false);
              const fast = normalizer(Number.POSITIVE_INFINITY, true);
              const all = normalizer(1, true);
              // The first kind makes the column (general path), meets it (fast path, recorded and compiled), runs
              // compiled; then the second kind meets the column twice (a compiled shape of the first kind must refuse
              // what its column does not take as is), then the first kind again.
              const texts = [a, a, a, b, b, a];
              texts.forEach((text, i) => {
                const line = {
                  number: i + 1,
                  text: lineOf(place, text, i),
                  tooLong: false,
                  unterminated: false,
                };
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
    for (const [key, paths] of seen) {
      const [pair] = key.split('@') as [string];
      const [first, second] = pair.split('>') as [Kind, Kind];
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
    // 7 of the 25 scalar pairs write as is, at each of the 8 places.
    expect(compiledPairs).toBe(7 * PLACES.length);
    expect(refusedPairs).toBe(18 * PLACES.length);
  }, 120_000);
});
