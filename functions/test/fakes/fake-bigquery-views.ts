import { FakeBigQueryError } from './fake-bigquery-values.ts';

/** Words that can follow a table reference but are not its alias. */
const NOT_ALIAS = new Set(
  'WHERE JOIN LEFT RIGHT INNER FULL CROSS ON USING GROUP ORDER LIMIT UNION INTERSECT EXCEPT QUALIFY HAVING WINDOW WHEN SET'.split(
    ' ',
  ),
);

/**
 * Logical views for the fake (tables.insert with a `view` resource). BigQuery's views are not materialized: "the
 * query that defines a view is run each time the view is queried", and a query is billed for the bytes of the
 * tables it references directly or through views (https://cloud.google.com/bigquery/docs/views-intro,
 * "View limitations" / pricing: https://cloud.google.com/bigquery/pricing#on_demand_pricing: "you are charged for
 * the bytes processed ... of the underlying tables"). So the fake stores the view's BigQuery SQL and, before a
 * query is translated, replaces each reference to a view by its definition as a subquery: the engine then bills
 * the base tables the definition names (10 MB minimum each), as it bills any query.
 */
export class FakeViews {
  readonly #views = new Map<string, string>();

  /** Registers `dataset.table` as a view of `query` (legacy SQL views are refused, as Sluice never makes them). */
  define(datasetId: string, tableId: string, view: { query?: unknown; useLegacySql?: unknown }): void {
    if (typeof view.query !== 'string' || view.query.trim() === '')
      throw new FakeBigQueryError('invalid', 'view.query is required');
    if (view.useLegacySql !== false)
      throw new FakeBigQueryError(
        'invalid',
        'fake BigQuery supports GoogleSQL views only (useLegacySql: false)',
      );
    this.#views.set(`${datasetId}.${tableId.toLowerCase()}`, view.query);
  }

  drop(datasetId: string, tableId: string): boolean {
    return this.#views.delete(`${datasetId}.${tableId.toLowerCase()}`);
  }

  has(datasetId: string, tableId: string): boolean {
    return this.#views.has(`${datasetId}.${tableId.toLowerCase()}`);
  }

  /** `sql` with every view reference (`project.dataset.view` or `dataset.view`) expanded, recursively. */
  expand(sql: string, depth = 0): string {
    if (depth > 16) throw new FakeBigQueryError('invalidQuery', 'views nest deeper than 16 levels');
    return sql.replace(
      /`([^`]+)`(\s+(?:AS\s+)?([A-Za-z_]\w*))?/gi,
      (whole, inner: string, after?: string, word?: string) => {
        const parts = inner.split('.');
        if (parts.length < 2) return whole;
        const key = `${parts.at(-2)}.${parts.at(-1)!.toLowerCase()}`;
        const definition = this.#views.get(key);
        if (definition === undefined) return whole;
        const body = `(${this.expand(definition, depth + 1)})`;
        // Keep the query's alias; without one, name the subquery as the view so `persons.x` still resolves.
        if (word !== undefined && !NOT_ALIAS.has(word.toUpperCase())) return `${body}${after}`;
        return `${body} AS \`${parts.at(-1)!.toLowerCase()}\`${after ?? ''}`;
      },
    );
  }
}
