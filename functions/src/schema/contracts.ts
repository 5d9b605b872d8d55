import { readFileSync } from 'node:fs';
import { LoaderError } from '../errors.ts';
import { type IdentityRules, parseIdentityRules } from '../schema/identity-rules.ts';

/**
 * Schema contracts, per table (dlt's modes):
 * - `evolve` (default): new tables, columns, variants and INT64->FLOAT64 widenings are applied and recorded.
 * - `freeze`: the table's schema never changes; an event that would change it is rejected whole into the
 *   failed-events table with its raw line (code SLUICE_ERR_LOAD_CONTRACT_FREEZE), replayable after a change.
 * - `discard_row`: like freeze, but the raw line is not kept (code SLUICE_ERR_LOAD_CONTRACT_DISCARD_ROW).
 * - `discard_value`: the event loads; each value that would change the schema is dropped (counted in the loads
 *   row as values_discarded). A table that does not exist yet is not created (the event is rejected as discard_row).
 */
export const CONTRACT_MODES = ['evolve', 'freeze', 'discard_row', 'discard_value'] as const;
export type ContractMode = (typeof CONTRACT_MODES)[number];

export interface Contracts {
  default: ContractMode;
  /** Table name -> mode. Child tables (`a__b`) fall back to their root table's mode (`a`), then `default`. */
  tables: Readonly<Record<string, ContractMode>>;
  /** Event table name -> how its arrays of objects are kept (`ARRAY_MODES`); absent: `both`. */
  arrays?: Readonly<Record<string, ArrayMode>>;
  /** The identity graph's rules (schema/identity-rules.ts); absent: the defaults. */
  identity?: IdentityRules;
}

/**
 * How the arrays of objects of an event table's events are kept (item 8 of issue 14), per table (the event's:
 * a track's own table, or `pages`, `identifies`...; its child tables follow it):
 * - `both` (default): Segment's JSON column on the parent (`order_completed.products`, so `JSON_EXTRACT(products,
 *   ...)` keeps working) and the child table (`order_completed__products`, Sluice's addition);
 * - `json`: the JSON column only (Segment's layout; no child table);
 * - `child_table`: the child table only.
 */
export const ARRAY_MODES = ['both', 'json', 'child_table'] as const;
export type ArrayMode = (typeof ARRAY_MODES)[number];

function isArrayMode(value: unknown): value is ArrayMode {
  return typeof value === 'string' && (ARRAY_MODES as readonly string[]).includes(value);
}

/** The array mode of an event table (own keys only, as `contractFor`). */
export function arraysFor(contracts: Contracts | undefined, table: string): ArrayMode {
  const arrays = contracts?.arrays;
  if (arrays !== undefined && Object.hasOwn(arrays, table)) return arrays[table] as ArrayMode;
  return 'both';
}

export const DEFAULT_CONTRACTS: Contracts = { default: 'evolve', tables: {} };

function isMode(value: unknown): value is ContractMode {
  return typeof value === 'string' && (CONTRACT_MODES as readonly string[]).includes(value);
}

/**
 * Validates a contracts document (`{"default": "evolve", "tables": {"order_completed": "freeze"}, "arrays":
 * {"order_completed": "json"}}`).
 */
export function parseContracts(
  value: unknown,
): { ok: true; contracts: Contracts } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: ['contracts must be a JSON object'] };
  }
  const doc = value as { default?: unknown; tables?: unknown };
  const def = doc.default ?? 'evolve';
  if (!isMode(def)) problems.push(`default: must be one of ${CONTRACT_MODES.join(', ')}`);
  const tables: Record<string, ContractMode> = {};
  if (doc.tables !== undefined) {
    if (typeof doc.tables !== 'object' || doc.tables === null || Array.isArray(doc.tables)) {
      problems.push('tables: must be an object of table name -> mode');
    } else {
      for (const [table, mode] of Object.entries(doc.tables)) {
        if (isMode(mode)) tables[table] = mode;
        else problems.push(`tables.${table}: must be one of ${CONTRACT_MODES.join(', ')}`);
      }
    }
  }
  const arrays: Record<string, ArrayMode> = {};
  const arraysDoc = (doc as { arrays?: unknown }).arrays;
  if (arraysDoc !== undefined) {
    if (typeof arraysDoc !== 'object' || arraysDoc === null || Array.isArray(arraysDoc)) {
      problems.push('arrays: must be an object of table name -> array mode');
    } else {
      for (const [table, mode] of Object.entries(arraysDoc)) {
        if (isArrayMode(mode)) arrays[table] = mode;
        else problems.push(`arrays.${table}: must be one of ${ARRAY_MODES.join(', ')}`);
      }
    }
  }
  const identityDoc = (doc as { identity?: unknown }).identity;
  const identity = parseIdentityRules(identityDoc, problems);
  for (const key of Object.keys(doc)) {
    if (!['default', 'tables', 'arrays', 'identity'].includes(key)) problems.push(`${key}: unknown key`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const contracts: Contracts = { default: def as ContractMode, tables, arrays };
  return { ok: true, contracts: identityDoc === undefined ? contracts : { ...contracts, identity } };
}

/** Reads and validates a contracts file; throws a non-retryable config error listing every problem. */
export function readContractsFile(path: string): Contracts {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LoaderError('SLUICE_ERR_CONFIG_CONTRACTS_INVALID', `${path}: ${(error as Error).message}`);
  }
  const result = parseContracts(parsed);
  if (!result.ok)
    throw new LoaderError('SLUICE_ERR_CONFIG_CONTRACTS_INVALID', `${path}: ${result.problems.join('; ')}`);
  return result.contracts;
}

export function contractFor(contracts: Contracts, table: string): ContractMode {
  // Own keys only: a table may be named `constructor`, which a plain object answers from its prototype.
  const tables = contracts.tables;
  if (Object.hasOwn(tables, table)) return tables[table] as ContractMode;
  const cut = table.indexOf('__');
  if (cut > 0 && Object.hasOwn(tables, table.slice(0, cut)))
    return tables[table.slice(0, cut)] as ContractMode;
  return contracts.default;
}
