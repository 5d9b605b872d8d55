import { finishIdentifier, type NamingRules } from './identifier.ts';
import { snakeCase } from './snake-case.ts';
import { stableHash } from './stable-hash.ts';

export interface ColumnName {
  /** The joined snake_case path before identifier rules (used to derive nested and child names). */
  base: string;
  /** The final column name. */
  column: string;
}

/**
 * Memoizes key -> column names per parent path: flattening the same keys event after event costs one map lookup.
 * The cache is bounded (cleared when it passes `limit` entries) so hostile key sets cannot grow memory.
 */
export class NameCache {
  private readonly columns = new Map<string, Map<string, ColumnName>>();
  private size = 0;
  private readonly tables = new Map<string, string>();
  private readonly children = new Map<string, Map<string, string>>();

  constructor(
    readonly rules: NamingRules,
    private readonly limit = 200_000,
  ) {}

  /** Column for `key` under a parent whose base name is `parentBase` ('' at top level). */
  column(parentBase: string, key: string): ColumnName {
    let byKey = this.columns.get(parentBase);
    if (byKey === undefined) {
      byKey = new Map();
      this.columns.set(parentBase, byKey);
    }
    let found = byKey.get(key);
    if (found === undefined) {
      let part = snakeCase(key);
      if (part === '') part = `k${stableHash(key)}`;
      const base = parentBase === '' ? part : `${parentBase}_${part}`;
      found = { base, column: finishIdentifier(base, key, this.rules, this.rules.maxColumn, true) };
      if (++this.size > this.limit) {
        this.columns.clear();
        this.size = 0;
      }
      byKey.set(key, found);
    }
    return found;
  }

  /** A table name from a raw name (an event name) or from already snake-cased parts (child tables). */
  table(raw: string, reservedTables: ReadonlySet<string>): string {
    let found = this.tables.get(raw);
    if (found === undefined) {
      let base = snakeCase(raw);
      if (reservedTables.has(base)) base = `${base}_event`;
      found = finishIdentifier(base, raw, this.rules, this.rules.maxTable, false);
      if (this.tables.size >= this.limit) this.tables.clear();
      this.tables.set(raw, found);
    }
    return found;
  }

  /** Child table name: `<parent table>__<array column base>`, shortened with a hash when too long. */
  childTable(parentTable: string, arrayBase: string): string {
    let byBase = this.children.get(parentTable);
    if (byBase === undefined) {
      byBase = new Map();
      this.children.set(parentTable, byBase);
    }
    let found = byBase.get(arrayBase);
    if (found === undefined) {
      const base = `${parentTable}__${arrayBase}`;
      found = finishIdentifier(base, base, this.rules, this.rules.maxTable, false);
      byBase.set(arrayBase, found);
    }
    return found;
  }
}
