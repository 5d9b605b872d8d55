import { describe, expect, it } from 'vitest';
import { valuesOf } from '../destinations/destination.ts';
import { DUCKDB_CAPABILITIES } from '../destinations/duckdb/capabilities.ts';
import { TABLE_COLUMNS } from '../load/load-object.ts';
import type { WarehouseSchema } from '../model/warehouse.ts';
import { namingRules } from '../naming/identifier.ts';
import { NameCache } from '../naming/name-cache.ts';
import { DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { createNormalizer, type Normalized } from './normalizer.ts';

function loadNormalizer(loadId: string, schema: WarehouseSchema, maxNestingDepth: number) {
  return createNormalizer({
    schema,
    names: new NameCache(namingRules(DUCKDB_CAPABILITIES)),
    maxNestingDepth,
    contracts: DEFAULT_CONTRACTS,
    columnBudget: 60,
    canWidenIntToFloat: true,
    maxColumnNameLength: 64,
    tableColumns: TABLE_COLUMNS,
    tableValues: ['2026-01-01T00:00:00.000Z', loadId],
    compileAfter: 2,
  });
}

function comparable(result: Normalized): unknown {
  if (!result.ok) return { failed: result.failure.code };
  return { rows: result.rows.map((r) => [r.table, valuesOf(r)]), changes: result.changes };
}

/** Lines of a load: repeated shapes (compiled after 2), a type conflict, an identify, nesting. */
function lines(seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 60; i++) {
    const flag = i % 17 === 9 ? '"oops"' : i % 2 === 0 ? 'true' : 'false';
    out.push(
      i % 5 === 4
        ? `{"type":"identify","messageId":"i${seed}-${i}","userId":"u${i % 3}","receivedAt":"2026-01-01T00:00:01Z","traits":{"plan":"p${i}","deep":{"a":{"b":{"c":${i}}}}}}`
        : `{"type":"track","event":"Order Completed","messageId":"t${seed}-${i}","anonymousId":"a","receivedAt":"2026-01-01T00:00:01Z","properties":{"flag":${flag},"total":${i + seed},"products":[{"sku":"s${i}"}]}}`,
    );
  }
  return out;
}

describe('createNormalizer', () => {
  it('gives two loads normalized at once, line by line in turn, the rows each gets alone', () => {
    // Two loads with their own schemas, load ids and depth limits: nothing of one may reach the other.
    const runAlone = (loadId: string, depth: number, seed: number) => {
      const n = loadNormalizer(loadId, new Map(), depth);
      return lines(seed).map((text, i) =>
        comparable(n.normalize({ number: i + 1, text, tooLong: false, unterminated: false })),
      );
    };
    const aloneA = runAlone('load-a', 3, 0);
    const aloneB = runAlone('load-b', 2, 1000);
    const a = loadNormalizer('load-a', new Map(), 3);
    const b = loadNormalizer('load-b', new Map(), 2);
    const textsA = lines(0);
    const textsB = lines(1000);
    const togetherA: unknown[] = [];
    const togetherB: unknown[] = [];
    for (let i = 0; i < textsA.length; i++) {
      togetherA.push(
        comparable(
          a.normalize({ number: i + 1, text: textsA[i] as string, tooLong: false, unterminated: false }),
        ),
      );
      togetherB.push(
        comparable(
          b.normalize({ number: i + 1, text: textsB[i] as string, tooLong: false, unterminated: false }),
        ),
      );
    }
    expect(togetherA).toEqual(aloneA);
    expect(togetherB).toEqual(aloneB);
    // Not vacuous: both ran compiled shapes of the same kind of event, and the conflict on the general path.
    expect(a.stats.compiled).toBeGreaterThan(10);
    expect(b.stats.compiled).toBeGreaterThan(10);
    expect(JSON.stringify(togetherB)).toContain('flag__v_string');
    expect(JSON.stringify(togetherB)).not.toContain('load-a');
  });
});
