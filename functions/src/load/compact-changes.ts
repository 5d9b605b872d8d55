import type { SchemaChange } from '../destinations/destination.ts';

/**
 * Folds `add_column`s (and widenings) of a table created in the same list into its `create_table`, so a
 * destination creates a new table in one statement. Order of the remaining changes is kept.
 */
export function compactChanges(changes: readonly SchemaChange[]): SchemaChange[] {
  const created = new Map<string, Extract<SchemaChange, { kind: 'create_table' }>>();
  const out: SchemaChange[] = [];
  for (const change of changes) {
    if (change.kind === 'create_table') {
      const copy = { ...change, columns: [...change.columns] };
      created.set(change.table, copy);
      out.push(copy);
      continue;
    }
    const table = created.get(change.table);
    if (table === undefined) {
      out.push(change);
    } else if (change.kind === 'add_column') {
      table.columns.push({ name: change.column, type: change.type });
    } else {
      const col = table.columns.find((c) => c.name === change.column);
      if (col) col.type = change.to;
    }
  }
  return out;
}
