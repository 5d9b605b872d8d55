import type { CellValue, ColumnSchema } from '../destinations/destination.ts';
import type { IdRef } from './tables.ts';

/** BigQuery REST query parameters for the identity store (https://cloud.google.com/bigquery/docs/reference/rest/v2/QueryParameter). */
const REST_TYPE: Readonly<Record<string, string>> = {
  STRING: 'STRING',
  INT64: 'INT64',
  TIMESTAMP: 'TIMESTAMP',
  BOOL: 'BOOL',
};

/** An ARRAY<STRUCT<t STRING, x STRING>> parameter of id refs. */
export function idsParam(name: string, ids: readonly IdRef[]): Record<string, unknown> {
  return {
    name,
    parameterType: {
      type: 'ARRAY',
      arrayType: {
        type: 'STRUCT',
        structTypes: [
          { name: 't', type: { type: 'STRING' } },
          { name: 'x', type: { type: 'STRING' } },
        ],
      },
    },
    parameterValue: {
      arrayValues: ids.map((r) => ({ structValues: { t: { value: r.type }, x: { value: r.value } } })),
    },
  };
}

export function stringsParam(name: string, values: readonly string[]): Record<string, unknown> {
  return {
    name,
    parameterType: {
      type: 'ARRAY',
      arrayType: { type: 'STRUCT', structTypes: [{ name: 'v', type: { type: 'STRING' } }] },
    },
    parameterValue: { arrayValues: values.map((v) => ({ structValues: { v: { value: v } } })) },
  };
}

export function rowsParam(
  name: string,
  columns: readonly ColumnSchema[],
  rows: readonly CellValue[][],
): Record<string, unknown> {
  return {
    name,
    parameterType: {
      type: 'ARRAY',
      arrayType: {
        type: 'STRUCT',
        structTypes: columns.map((c) => ({ name: c.name, type: { type: REST_TYPE[c.type] ?? 'STRING' } })),
      },
    },
    parameterValue: {
      arrayValues: rows.map((r) => ({
        structValues: Object.fromEntries(
          columns.map((c, i) => [
            c.name,
            { value: r[i] === null || r[i] === undefined ? null : String(r[i]) },
          ]),
        ),
      })),
    },
  };
}

export const text = (v: unknown): string => {
  if (v !== null && typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
  return String(v);
};

/** Named STRING parameters. */
export function stringParams(values: Record<string, string>): Record<string, unknown>[] {
  return Object.entries(values).map(([name, value]) => ({
    name,
    parameterType: { type: 'STRING' },
    parameterValue: { value },
  }));
}
