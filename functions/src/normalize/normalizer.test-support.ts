// Test support of the normalizer's property tests (differential.test.ts, fast-path.test.ts): one place for the
// normalizer under test, the comparison of results, raw lines and the events they are made of.
import { valuesOf } from '../destinations/destination.ts';
import { DUCKDB_CAPABILITIES } from '../destinations/duckdb/capabilities.ts';
import type { Line } from '../load/line-reader.ts';
import { TABLE_COLUMNS } from '../load/load-object.ts';
import type { WarehouseSchema } from '../model/warehouse.ts';
import { namingRules } from '../naming/identifier.ts';
import { NameCache } from '../naming/name-cache.ts';
import { type Contracts, DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { createNormalizer, type Normalized, type Normalizer } from './normalizer.ts';

export interface TestNormalizerOptions {
  /** Run the compiled shapes and the fast path (false: the general path alone). */
  fastPath: boolean;
  /** Compile a shape after this many fast-path events of its kind (default 1: shapes run on most repeats). */
  compileAfter?: number;
  contracts?: Contracts;
  /** The warehouse's schema at the load's start (default empty). */
  schema?: WarehouseSchema;
}

/** A normalizer of small limits (depth 3, 60 columns, names of 64 characters), with its schema. */
export function testNormalizer(options: TestNormalizerOptions): Normalizer & { schema: WarehouseSchema } {
  const schema: WarehouseSchema = options.schema ?? new Map();
  return {
    schema,
    ...createNormalizer({
      schema,
      names: new NameCache(namingRules(DUCKDB_CAPABILITIES)),
      maxNestingDepth: 3,
      contracts: options.contracts ?? DEFAULT_CONTRACTS,
      columnBudget: 60,
      canWidenIntToFloat: true,
      maxColumnNameLength: 64,
      tableColumns: TABLE_COLUMNS,
      tableValues: ['2026-01-01T00:00:00.000Z', 'load-1'],
      fastPath: options.fastPath,
      compileAfter: options.compileAfter ?? 1,
    }),
  };
}

/** Raw line number `number` of a file. */
export function lineOf(number: number, text: string): Line {
  return { number, text, tooLong: false, unterminated: false };
}

/**
 * A result with rows as column -> value maps (positions differ between layouts), NULL cells dropped (a NULL cell
 * and an absent one are the same, `StagedRow`: compiled shapes write nulls, the other paths omit them).
 */
export function comparable(result: Normalized): unknown {
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

/** A valid event of `type` with `payload` as its properties (or traits: identify and group). */
export function eventOf(
  type: string,
  event: string,
  payload: unknown,
  context: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type,
    userId: 'u1',
    receivedAt: '2026-01-01T00:00:01.000Z',
    timestamp: '2026-01-01T00:00:00.000Z',
    context,
  };
  if (type === 'track') out.event = event;
  if (type === 'group') out.groupId = 'g1';
  if (type === 'alias') out.previousId = 'p1';
  if (type === 'identify' || type === 'group') out.traits = payload;
  else out.properties = payload;
  return out;
}
